//go:build tools

// Package tools makes this module depend on Consul so `go build github.com/hashicorp/consul`
// compiles the agent with the versions pinned in go.mod and go.sum.
package tools

import _ "github.com/hashicorp/consul"
