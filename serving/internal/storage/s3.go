package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/imgclf/serving"
)

// credentialsHint says where the SDK's default chain looks for credentials.
const credentialsHint = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN"

// S3 is a model base path in Amazon S3 or an S3-compatible store,
// s3://bucket/prefix. Credentials, region and endpoint come from the
// SDK's default chain: the AWS_* environment, the shared config and
// credentials files, web identity (IRSA), the container and instance
// roles. AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (or a profile's
// endpoint_url) points the client at another server (MinIO, SeaweedFS);
// requests then use path-style addressing, which such servers expect.
// Without a configured region the client uses us-east-1; a bucket in
// another AWS region needs AWS_REGION.
type S3 struct {
	bucketPath
	client *s3.Client
	logger *slog.Logger
}

// NewS3 returns the Source for an s3:// URI. It resolves the credentials
// once, so a missing one fails here, naming the URI and the variables.
func NewS3(ctx context.Context, uri string, opts Options) (*S3, error) {
	where, err := parseBucketPath(uri, "s3", opts.role())
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s %s: loading the AWS configuration: %w", opts.role(), uri, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Credentials == nil {
		return nil, serving.Errorf(serving.Invalid, "%s %s: no AWS credentials; %s", opts.role(), uri, credentialsHint)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, serving.Errorf(serving.Invalid, "%s %s: no AWS credentials (%v); %s", opts.role(), uri, err, credentialsHint)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = o.BaseEndpoint != nil // an endpoint override: MinIO, SeaweedFS, ...
	})
	return &S3{bucketPath: where, client: client, logger: logger(opts.Logger)}, nil
}

// Versions lists the objects under the prefix once and keeps the version
// numbers that have both saved_model.pb and _COMPLETE.
func (s *S3) Versions(ctx context.Context) ([]Version, error) {
	objects, err := s.list(ctx, s.root())
	if err != nil {
		return nil, err
	}
	return completeVersions(objects, s.String(), s.logger), nil
}

// list returns name (relative to prefix) -> size of every object under
// prefix. A missing bucket is an error (ListObjectsV2 says so), an empty
// prefix is not.
func (s *S3) list(ctx context.Context, prefix string) (map[string]int64, error) {
	out := map[string]int64{}
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, s.wrap(err, "listing "+prefix)
		}
		for _, obj := range page.Contents {
			rel := strings.TrimPrefix(aws.ToString(obj.Key), prefix)
			if rel != "" && !strings.HasSuffix(rel, "/") {
				out[rel] = aws.ToInt64(obj.Size)
			}
		}
	}
	return out, nil
}

func (s *S3) open(ctx context.Context, key string) (io.ReadCloser, error) {
	obj, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, s.wrap(err, "reading "+key)
	}
	return obj.Body, nil
}

// Fetch downloads every object of the version (except the claim marker)
// into a new directory under tmpDir and checks it against the marker.
func (s *S3) Fetch(ctx context.Context, v Version, tmpDir string) (string, func(), error) {
	return fetchObjects(ctx, s, s.versionRoot(v.Number), v.Number, tmpDir)
}

func (s *S3) wrap(err error, what string) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchBucket":
			return serving.Errorf(serving.NotFound, "%s: bucket s3://%s does not exist", s, s.bucket)
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken":
			return fmt.Errorf("%s: %s: the credentials were refused (%s: %s); %s",
				s, what, apiErr.ErrorCode(), apiErr.ErrorMessage(), credentialsHint)
		}
	}
	return fmt.Errorf("%s: %s: %w", s, what, err)
}

// Put uploads data as <prefix>/key with one PutObject; S3 shows an object
// only once its upload is complete.
func (s *S3) Put(ctx context.Context, key string, data []byte) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.root() + key),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data)))})
	if err != nil {
		return s.wrap(err, "writing "+s.root()+key)
	}
	return nil
}
