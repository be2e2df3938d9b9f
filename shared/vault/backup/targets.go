package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
)

// Dir keeps backups as files of a directory (the devstack's).
type Dir string

// Put writes the file under a temporary name, syncs it and renames it, so a
// backup is either whole or absent.
func (d Dir) Put(_ context.Context, name string, file *os.File, _ int64) error {
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return fmt.Errorf("backup dir: %w", err)
	}
	out, err := os.CreateTemp(string(d), ".partial-*")
	if err != nil {
		return fmt.Errorf("backup dir: %w", err)
	}
	defer func() { _ = os.Remove(out.Name()) }()
	if _, err := out.ReadFrom(file); err != nil {
		_ = out.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := errors.Join(out.Sync(), out.Close()); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(out.Name(), filepath.Join(string(d), name)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// List names the files of the directory.
func (d Dir) List(context.Context) ([]string, error) {
	entries, err := os.ReadDir(string(d))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// Get reads one file.
func (d Dir) Get(_ context.Context, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(string(d), filepath.Base(name)))
}

// Delete removes one file.
func (d Dir) Delete(_ context.Context, name string) error {
	return os.Remove(filepath.Join(string(d), filepath.Base(name)))
}

// S3 keeps backups as objects under a prefix of a bucket (versioned, with a
// lifecycle rule that expires the versions pruning leaves behind).
type S3 struct {
	client *s3.Client
	bucket string
	prefix string
}

// NewS3 is the S3 target; endpoint overrides the service endpoint (LocalStack).
func NewS3(ctx context.Context, bucket, prefix, endpoint string) (*S3, error) {
	cfg, err := awscfg.Load(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	})
	return &S3{client: client, bucket: bucket, prefix: prefix}, nil
}

// Put uploads the file in one PutObject (a snapshot through the API is at
// most a few MB in AWS; one of up to 5 GB still fits a single PUT).
func (t *S3) Put(ctx context.Context, name string, file *os.File, size int64) error {
	_, err := t.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(t.bucket), Key: aws.String(t.prefix + name), Body: file,
		ContentLength: aws.Int64(size), ContentType: aws.String("application/gzip"),
		ServerSideEncryption: types.ServerSideEncryptionAes256,
	})
	if err != nil {
		return fmt.Errorf("s3 put %s: %w", t.prefix+name, err)
	}
	return nil
}

// List names the objects under the prefix (without it).
func (t *S3) List(ctx context.Context) ([]string, error) {
	var names []string
	p := s3.NewListObjectsV2Paginator(t.client, &s3.ListObjectsV2Input{Bucket: aws.String(t.bucket), Prefix: aws.String(t.prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("s3 list %s: %w", t.prefix, err)
		}
		for _, o := range page.Contents {
			names = append(names, aws.ToString(o.Key)[len(t.prefix):])
		}
	}
	return names, nil
}

// Get reads one object (the audit checkpoints: only vault-audit may).
func (t *S3) Get(ctx context.Context, name string) ([]byte, error) {
	out, err := t.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(t.bucket), Key: aws.String(t.prefix + name)})
	if err != nil {
		return nil, fmt.Errorf("s3 get %s: %w", t.prefix+name, err)
	}
	defer func() { _ = out.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(out.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("s3 get %s: %w", t.prefix+name, err)
	}
	return raw, nil
}

// Delete removes an object (a delete marker: the versions expire by the
// bucket's lifecycle rule).
func (t *S3) Delete(ctx context.Context, name string) error {
	if _, err := t.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(t.bucket), Key: aws.String(t.prefix + name)}); err != nil {
		return fmt.Errorf("s3 delete %s: %w", t.prefix+name, err)
	}
	return nil
}
