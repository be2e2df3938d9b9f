package awscfg

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// containerCredentials reads a task's temporary credentials from the
// container credentials endpoint (ECS, Fargate): a GET with the
// Authorization token from AWS_CONTAINER_AUTHORIZATION_TOKEN or the file
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE names, answered with
// {"AccessKeyId","SecretAccessKey","Token","Expiration"}. aws.CredentialsCache
// keeps them until shortly before they expire.
type containerCredentials struct{ endpoint string }

func (c *containerCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint, nil)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("container credentials: %w", err)
	}
	token := os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN")
	if file := os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return aws.Credentials{}, fmt.Errorf("container authorization token: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("container credentials: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("container credentials: %w", err)
	}
	var body struct {
		AccessKeyId, SecretAccessKey, Token string
		Expiration                          *time.Time
		Code, Message                       string
	}
	if err := json.Unmarshal(raw, &body); err != nil || res.StatusCode != http.StatusOK || body.AccessKeyId == "" {
		return aws.Credentials{}, fmt.Errorf("container credentials: HTTP %d %s %s", res.StatusCode, body.Code, body.Message)
	}
	creds := aws.Credentials{AccessKeyID: body.AccessKeyId, SecretAccessKey: body.SecretAccessKey, SessionToken: body.Token,
		Source: "ContainerCredentials"}
	if body.Expiration != nil {
		creds.CanExpire, creds.Expires = true, *body.Expiration
	}
	return creds, nil
}
