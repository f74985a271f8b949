{{/*
Checks across values that values.schema.json cannot express. Each failure says what is wrong
and shows a fix; rendering stops at the first. Included once, by the DaemonSet.
*/}}
{{- define "edge-credential-provider.validate" -}}
{{- $v := .Values }}
{{- if not $v.edgeURL }}
{{- fail "edgeURL is required: the edge's base URL, e.g. --set edgeURL=https://ecp.example.com" }}
{{- end }}
{{- $https := regexMatch `^https://[^/?#@\s]+(/[^?#\s]*)?$` $v.edgeURL }}
{{- $loopback := regexMatch `^http://(127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|\[::1\]|localhost)(:[0-9]+)?(/[^?#\s]*)?$` $v.edgeURL }}
{{- if not (or $https $loopback) }}
{{- fail (printf "edgeURL %q must be https:// (http:// only to 127.0.0.0/8, [::1] or localhost), without credentials, query or fragment: the kubelet sends a service-account token there, e.g. --set edgeURL=https://ecp.example.com" $v.edgeURL) }}
{{- end }}
{{- if not $v.audience }}
{{- fail "audience is empty: it must be one of the trust record's audiences at the edge, e.g. --set audience=edge-credential-provider (the default)" }}
{{- end }}
{{- if not $v.matchImages }}
{{- fail "matchImages is empty: the kubelet would never run the plugin; list the registries the edge serves, e.g. --set 'matchImages={registry.example.com}'" }}
{{- end }}
{{- range $v.matchImages }}
{{- if regexMatch `^[a-zA-Z][a-zA-Z0-9+.-]*://` . }}
{{- fail (printf "matchImages entry %q has a scheme: write host[:port][/path], e.g. --set 'matchImages={registry.example.com}'" .) }}
{{- end }}
{{- end }}
{{- $minor := include "edge-credential-provider.minor" . | int }}
{{- if lt $minor 33 }}
{{- fail (printf "kubernetesVersion %q: kubelets before 1.33 cannot send service-account tokens to credential providers; upgrade the nodes, then e.g. --set kubernetesVersion=1.34" $v.kubernetesVersion) }}
{{- end }}
{{- if and (lt $minor 34) (eq $v.cacheType "Token") }}
{{- fail (printf "cacheType Token needs kubernetesVersion 1.34 or newer (%s has no tokenAttributes.cacheType): --set cacheType=ServiceAccount, or --set kubernetesVersion=1.34 once every kubelet is 1.34" $v.kubernetesVersion) }}
{{- end }}
{{- range $k := $v.serviceAccountAnnotations.required }}
{{- if has $k $v.serviceAccountAnnotations.optional }}
{{- fail (printf "serviceAccountAnnotations: %q is both required and optional; keep it in one list" $k) }}
{{- end }}
{{- end }}
{{- range $name, $path := dict "node.configPath" $v.node.configPath "node.binDir" $v.node.binDir }}
{{- if not (isAbs $path) }}
{{- fail (printf "%s %q must be an absolute path on the node, e.g. --set %s=%s" $name $path $name (ternary "/etc/kubernetes/credential-provider/config.yaml" "/etc/kubernetes/image-credential-provider" (eq $name "node.configPath"))) }}
{{- end }}
{{- end }}
{{- if include "edge-credential-provider.configIsDir" . }}
{{- if lt $minor 34 }}
{{- fail (printf "node.configPath %q is a directory (it ends in /): only kubelets >= 1.34 read a config directory; name the file instead, e.g. --set node.configPath=/etc/kubernetes/credential-provider/config.yaml" $v.node.configPath) }}
{{- end }}
{{- end }}
{{- $configDir := include "edge-credential-provider.hostConfigDir" . }}
{{- range $name, $dir := dict "node.configPath" $configDir "node.binDir" (clean $v.node.binDir) }}
{{- if or (eq $dir "/") (eq $dir "/etc") (eq $dir "/usr") (eq $dir "/var") (eq $dir "/etc/kubernetes") }}
{{- fail (printf "%s would mount the node's %s read-write into the installer: give it a directory of its own, e.g. --set node.configPath=/etc/kubernetes/credential-provider/config.yaml --set node.binDir=/etc/kubernetes/image-credential-provider" $name $dir) }}
{{- end }}
{{- end }}
{{- if not $v.image.repository }}
{{- fail "image.repository is required: the installer image (examples/kubelet/Dockerfile), pushed to a registry the nodes can pull from without this plugin, e.g. --set image.repository=registry.example.com/platform/edge-credential-provider-installer" }}
{{- end }}
{{- if $v.keySync.enabled }}
{{- if eq $v.keySync.audience $v.audience }}
{{- fail (printf "keySync.audience %q is also audience: the edge refuses a record whose keySync audience is one of its pull audiences (a pull token must not replace keys), and the admission policy refuses pods that project the pull audience; give it one of its own, e.g. --set keySync.audience=edge-key-sync" $v.keySync.audience) }}
{{- end }}
{{- if not ($.Files.Get "files/ecp.mjs") }}
{{- fail "keySync.enabled needs files/ecp.mjs in the chart (the bundled CLI the CronJob runs), and this copy of the chart has none: in a checkout of edge-credential-provider run `npm run build:cli` (it builds dist/cli/ecp.mjs and copies it there), or install a chart packaged after that (README.md, \"Key sync\")" }}
{{- end }}
{{- end }}
{{- end }}
