//go:build tools

// Package peers pins the etcd server the cluster harness builds; nothing imports it.
package peers

import _ "go.etcd.io/etcd/server/v3"
