//go:build !amd64

package index

// dot is the inner product of two vectors of one length (see dot_amd64.go).
func dot(a, b []float32) float32 { return dotGo(a, b) }
