//go:build tools

// Package peers pins the Helm CLI (helm.sh/helm/v4/cmd/helm) that the chart tests build from
// the Go module proxy; nothing imports it.
package peers

import _ "helm.sh/helm/v4/cmd/helm"
