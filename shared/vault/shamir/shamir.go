// Package shamir splits a secret into shares with Shamir's scheme over GF(2^8),
// as Vault does: each share holds one polynomial value per secret byte followed
// by its x-coordinate (so a 32-byte root key gives 33-byte shares). Any
// threshold shares recover the secret; fewer reveal nothing about it.
package shamir

import (
	"crypto/rand"
	"errors"
	"fmt"
)

// GF(2^8) with the AES polynomial x^8+x^4+x^3+x+1, through log/exp tables of generator 3.
var expTable, logTable = func() (exp [510]byte, log [256]byte) {
	x := byte(1)
	for i := 0; i < 255; i++ {
		exp[i], exp[i+255] = x, x
		log[x] = byte(i)
		x = mulSlow(x, 3)
	}
	return exp, log
}()

func mulSlow(a, b byte) byte {
	var p byte
	for b > 0 {
		if b&1 == 1 {
			p ^= a
		}
		hi := a & 0x80
		a <<= 1
		if hi != 0 {
			a ^= 0x1b
		}
		b >>= 1
	}
	return p
}

func mul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return expTable[int(logTable[a])+int(logTable[b])]
}

func div(a, b byte) byte {
	if a == 0 {
		return 0
	}
	return expTable[int(logTable[a])+255-int(logTable[b])]
}

// Split divides secret into parts shares, any threshold of which recover it.
func Split(secret []byte, parts, threshold int) ([][]byte, error) {
	switch {
	case len(secret) == 0:
		return nil, errors.New("cannot split an empty secret")
	case parts < 1 || parts > 255:
		return nil, fmt.Errorf("shares must be between 1 and 255, got %d", parts)
	case threshold < 1 || threshold > parts:
		return nil, fmt.Errorf("threshold must be between 1 and the number of shares (%d), got %d", parts, threshold)
	case threshold == 1 && parts > 1:
		return nil, errors.New("a threshold of 1 with several shares would hand out the secret itself")
	}
	xs, err := distinctXs(parts)
	if err != nil {
		return nil, err
	}
	shares := make([][]byte, parts)
	for i := range shares {
		shares[i] = make([]byte, len(secret)+1)
		shares[i][len(secret)] = xs[i]
	}
	coeffs := make([]byte, threshold)
	for j, s := range secret {
		coeffs[0] = s
		if _, err := rand.Read(coeffs[1:]); err != nil {
			return nil, fmt.Errorf("random coefficients: %w", err)
		}
		for i, x := range xs {
			// Horner: c0 + x(c1 + x(c2 + ...)).
			var y byte
			for k := threshold - 1; k >= 0; k-- {
				y = mul(y, x) ^ coeffs[k]
			}
			shares[i][j] = y
		}
	}
	clear(coeffs)
	return shares, nil
}

// distinctXs picks n distinct non-zero x-coordinates at random.
func distinctXs(n int) ([]byte, error) {
	var perm [255]byte
	for i := range perm {
		perm[i] = byte(i + 1)
	}
	var r [255]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("random coordinates: %w", err)
	}
	for i := 254; i > 0; i-- { // Fisher–Yates; the bias of r%n is irrelevant for public coordinates
		j := int(r[i]) % (i + 1)
		perm[i], perm[j] = perm[j], perm[i]
	}
	return append([]byte(nil), perm[:n]...), nil
}

// Combine recovers the secret from shares (at least the threshold used to split
// it; with fewer, it returns bytes unrelated to the secret). Shares must be of
// equal length and have distinct x-coordinates.
func Combine(shares [][]byte) ([]byte, error) {
	if len(shares) < 2 {
		return nil, errors.New("at least two shares are required")
	}
	n := len(shares[0])
	if n < 2 {
		return nil, errors.New("shares are too short")
	}
	xs := make([]byte, len(shares))
	for i, s := range shares {
		if len(s) != n {
			return nil, errors.New("shares differ in length")
		}
		xs[i] = s[n-1]
		if xs[i] == 0 {
			return nil, errors.New("share has x-coordinate 0")
		}
		for j := 0; j < i; j++ {
			if xs[j] == xs[i] {
				return nil, errors.New("duplicate share")
			}
		}
	}
	secret := make([]byte, n-1)
	for j := range secret {
		// Lagrange interpolation at x = 0.
		var acc byte
		for i, xi := range xs {
			basis := byte(1)
			for k, xk := range xs {
				if k != i {
					basis = mul(basis, div(xk, xk^xi))
				}
			}
			acc ^= mul(shares[i][j], basis)
		}
		secret[j] = acc
	}
	return secret, nil
}
