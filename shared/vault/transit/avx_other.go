//go:build !amd64

package transit

// clearUpperAVX is needed on amd64 only (see avx_amd64.go).
func clearUpperAVX() {}
