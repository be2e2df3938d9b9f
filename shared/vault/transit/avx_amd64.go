//go:build amd64

package transit

import "golang.org/x/sys/cpu"

// clearUpperAVX executes VZEROUPPER. circl's amd64 assembly (the ML-KEM NTT
// and the 4-way Keccak under ML-DSA) uses AVX2 and returns without it, which
// leaves the upper halves of the YMM registers dirty; until something clears
// them, every legacy-SSE instruction that follows on that thread (Go's
// SHA-NI SHA-256, AES-NI, the MOVUPS the compiler emits to copy and zero
// memory) pays a state penalty. Measured here: ten HMAC-SHA256 after one
// circl decapsulation take 220 µs instead of 5 µs. Call it after circl.
func clearUpperAVX() {
	if cpu.X86.HasAVX {
		vzeroupper()
	}
}

func vzeroupper()
