package ec2

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// AddKey lets requests signed with this access key and secret in: every
// request must carry a SigV4 signature of the region's ec2 service made
// with a key the server knows, as on AWS.
func (s *Server) AddKey(id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[id] = secret
}

// sigv4 is a parsed Authorization header.
type sigv4 struct {
	key, date, region, service string
	signedHeaders              []string
	signature                  string
}

func parseAuth(auth string) (sigv4, bool) {
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return sigv4{}, false
	}
	var a sigv4
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			scope := strings.Split(v, "/")
			if len(scope) != 5 || scope[4] != "aws4_request" {
				return sigv4{}, false
			}
			a.key, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	return a, a.key != "" && a.signature != "" && len(a.signedHeaders) > 0
}

func authFailure() *apiError {
	return fail(401, "AuthFailure", "AWS was not able to validate the provided access credentials")
}

func signatureMismatch() *apiError {
	return fail(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. "+
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
}

// verify checks r's SigV4 signature over body against the server's keys,
// answering as EC2 does: AuthFailure for an unsigned request or an unknown
// key, SignatureDoesNotMatch for a wrong signature, RequestExpired for a
// date more than 5 minutes off. Called with s.mu held.
func (s *Server) verify(r *http.Request, body []byte) *apiError {
	a, ok := parseAuth(r.Header.Get("Authorization"))
	if !ok || a.region != s.Region || a.service != "ec2" {
		return authFailure()
	}
	secret, known := s.keys[a.key]
	if !known {
		return authFailure()
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || at.Format("20060102") != a.date {
		return authFailure()
	}
	if d := time.Since(at); d > 5*time.Minute || d < -5*time.Minute {
		return fail(400, "RequestExpired", "Request has expired.")
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	re, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return authFailure()
	}
	re.Host = r.Host
	for _, h := range a.signedHeaders {
		switch h {
		case "host":
		case "content-length":
			re.ContentLength = int64(len(body))
		default:
			re.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	if !slices.Contains(a.signedHeaders, "content-length") {
		re.ContentLength = 0
	}
	creds := aws.Credentials{AccessKeyID: a.key, SecretAccessKey: secret, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, re, payload, "ec2", s.Region, at); err != nil {
		return authFailure()
	}
	want, _ := parseAuth(re.Header.Get("Authorization"))
	if subtle.ConstantTimeCompare([]byte(want.signature), []byte(a.signature)) != 1 {
		return signatureMismatch()
	}
	return nil
}

// readBody reads r's body and puts it back for ParseForm.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b, err
}
