package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
)

// Go's crypto/x509 signs and verifies RSA, ECDSA and Ed25519 only. For
// ML-DSA-65 the certificate, CSR or CRL is first built by crypto/x509 with a
// throwaway ECDSA key, so that every name, extension and time is encoded
// by the standard library; then its public key and signature algorithm are
// swapped for ML-DSA-65's and the to-be-signed bytes are signed with ML-DSA
// (pure, empty context, as RFC 9881 specifies).

var mldsaAlgorithm = mustMarshal(pkix.AlgorithmIdentifier{Algorithm: oidMLDSA65})

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// throwaway signs what crypto/x509 builds before the swap.
var throwaway, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

// subjectKeyID is the method 1 key identifier of RFC 5280: SHA-1 of the public key bits.
func subjectKeyID(spki []byte) []byte {
	var info subjectPublicKeyInfo
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil
	}
	sum := sha1.Sum(info.PublicKey.Bytes)
	return sum[:]
}

// createCertificate signs tmpl for the subject key with the issuer's key;
// parent is the issuer's certificate, nil for a self-signed one.
func createCertificate(tmpl *x509.Certificate, subject []byte, parent *x509.Certificate, issuer *keyPair) ([]byte, error) {
	tmpl.SubjectKeyId = subjectKeyID(subject)
	if parent == nil {
		parent = tmpl
	}
	if issuer.Type != keyMLDSA && keyTypeOf(nil, subject) != keyMLDSA {
		pub, err := x509.ParsePKIXPublicKey(subject)
		if err != nil {
			return nil, err
		}
		return x509.CreateCertificate(rand.Reader, tmpl, parent, pub, issuer.signer)
	}
	if issuer.Type != keyMLDSA {
		return nil, invalid("an ml-dsa-65 certificate needs an ml-dsa-65 issuer")
	}
	p := *parent
	p.PublicKey = nil // the throwaway key is not the parent's
	der, err := x509.CreateCertificate(rand.Reader, tmpl, &p, &throwaway.PublicKey, throwaway)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	// TBSCertificate: version, serial, signature, issuer, validity, subject, SPKI, extensions.
	tbs, err := replaceFields(c.RawTBSCertificate, map[int][]byte{2: mldsaAlgorithm, 6: subject})
	if err != nil {
		return nil, err
	}
	return signMLDSA(tbs, issuer)
}

// createCSR builds a CSR for key.
func createCSR(tmpl *x509.CertificateRequest, key *keyPair) ([]byte, error) {
	if key.Type != keyMLDSA {
		return x509.CreateCertificateRequest(rand.Reader, tmpl, key.signer)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, throwaway)
	if err != nil {
		return nil, err
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, err
	}
	spki, err := key.spki()
	if err != nil {
		return nil, err
	}
	// CertificationRequestInfo: version, subject, SPKI, attributes.
	info, err := replaceFields(csr.RawTBSCertificateRequest, map[int][]byte{2: spki})
	if err != nil {
		return nil, err
	}
	return signMLDSA(info, key)
}

// createCRL signs the revocation list with the CA's key.
func createCRL(tmpl *x509.RevocationList, ca *x509.Certificate, key *keyPair) ([]byte, error) {
	if key.Type != keyMLDSA {
		return x509.CreateRevocationList(rand.Reader, tmpl, ca, key.signer)
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca, throwaway)
	if err != nil {
		return nil, err
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, err
	}
	// TBSCertList: version, signature, issuer, thisUpdate, ...
	tbs, err := replaceFields(crl.RawTBSRevocationList, map[int][]byte{1: mldsaAlgorithm})
	if err != nil {
		return nil, err
	}
	return signMLDSA(tbs, key)
}

// signMLDSA wraps to-be-signed bytes as SEQUENCE { tbs, algorithm, signature }.
func signMLDSA(tbs []byte, key *keyPair) ([]byte, error) {
	sig := make([]byte, mldsa65.SignatureSize)
	if err := mldsa65.SignTo(key.mldsa, tbs, nil, true, sig); err != nil {
		return nil, fmt.Errorf("ml-dsa-65 sign: %w", err)
	}
	bits, err := asn1.Marshal(asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)})
	if err != nil {
		return nil, err
	}
	return sequence(tbs, mldsaAlgorithm, bits)
}

// verifyMLDSA checks an ML-DSA-65 signature over to-be-signed bytes with the
// public key in spki.
func verifyMLDSA(spki, tbs, sig []byte) error {
	pk, err := mldsaPublicFromSPKI(spki)
	if err != nil {
		return err
	}
	if !mldsa65.Verify(pk, tbs, nil, sig) {
		return errors.New("ml-dsa-65 signature does not verify")
	}
	return nil
}

// replaceFields rewrites elements of a DER SEQUENCE by index, keeping every
// other byte as it was.
func replaceFields(seq []byte, with map[int][]byte) ([]byte, error) {
	var outer asn1.RawValue
	if rest, err := asn1.Unmarshal(seq, &outer); err != nil || len(rest) > 0 || outer.Tag != asn1.TagSequence {
		return nil, fmt.Errorf("not a DER sequence")
	}
	var parts [][]byte
	for in := outer.Bytes; len(in) > 0; {
		var el asn1.RawValue
		rest, err := asn1.Unmarshal(in, &el)
		if err != nil {
			return nil, err
		}
		if r, ok := with[len(parts)]; ok {
			parts = append(parts, r)
		} else {
			parts = append(parts, el.FullBytes)
		}
		in = rest
	}
	return sequence(parts...)
}

func sequence(parts ...[]byte) ([]byte, error) {
	var body []byte
	for _, p := range parts {
		body = append(body, p...)
	}
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: body})
}
