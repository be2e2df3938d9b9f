package index

import "gonum.org/v1/gonum/blas/gonum"

// dot is the inner product of two vectors of one length: on amd64, gonum's
// SSE assembly, about four times as fast as dotGo on 384 dimensions (40 ns
// against 156, measured here). The HNSW builder spends most of its time here
// (a node linked compares its vector with a few thousand), and it runs beside
// the requests. Elsewhere (the Lambda functions are arm64, where gonum has no
// assembly for float32) dot is dotGo.
func dot(a, b []float32) float32 { return gonum.Implementation{}.Sdot(len(a), a, 1, b, 1) }
