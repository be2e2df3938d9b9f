package index

// dotGo is the inner product of two vectors of one length, in Go. Four sums
// let the CPU overlap the multiplications; the fixed-size subslices let the
// compiler drop bounds checks (a fifth less time than indexing each element,
// measured). dot is this loop except on amd64 (dot_amd64.go).
func dotGo(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	n := len(a) &^ 3
	b = b[:len(a)]
	for i := 0; i < n; i += 4 {
		x, y := a[i:i+4:i+4], b[i:i+4:i+4]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
	}
	for i := n; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}
