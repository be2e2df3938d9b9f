package ec2_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	localec2 "github.com/stratumiops/stratumiops/localstack/ec2"
	"github.com/stratumiops/stratumiops/shared/provisioning"
	"github.com/stratumiops/stratumiops/shared/provisioning/ec2"
)

func setup(t *testing.T) (*ec2.Provider, *localec2.Server) {
	t.Helper()
	srv := localec2.New("eu-west-1")
	srv.AddKey("AKIDLOCAL", "secret")
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c := &ec2.Client{Endpoint: hs.URL, Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", "")}
	return ec2.New(c, time.Millisecond), srv
}

// tasks prepares network → server → storage on aws.
func tasks(t *testing.T, storage string) map[string]provisioning.PreparedTask {
	t.Helper()
	w := provisioning.Workflow{Name: "x", Environment: "staging", Defaults: provisioning.Defaults{Provider: "aws"}, Tasks: []provisioning.Task{
		{ID: "net", Kind: "network", Spec: json.RawMessage(`{"cidr":"10.20.0.0/16"}`)},
		{ID: "web", Kind: "server", Spec: json.RawMessage(`{"os":{"family":"ubuntu","version":"24.04"},"storage":[{"name":"logs","size_gb":20,"mount_point":"/var/log"}]}`), DependsOn: []string{"net"}},
		{ID: "data", Kind: "storage", Spec: json.RawMessage(storage), DependsOn: []string{"web"}}}}
	p, err := provisioning.Prepare(w)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]provisioning.PreparedTask{}
	for _, pt := range p.Tasks {
		out[pt.ID] = pt
	}
	return out
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestLifecycle(t *testing.T) {
	p, srv := setup(t)
	ts := tasks(t, `{"size_gb":50,"type":"ssd","attach_to":"web"}`)
	deps := map[string]provisioning.Resource{}
	for _, id := range []string{"net", "web", "data"} {
		r, err := p.Create(ctx(t), "wf/"+id+"/1", ts[id], deps)
		if err != nil {
			t.Fatalf("create %s: %v", id, err)
		}
		deps[id] = r
	}
	if deps["web"].Attrs["subnet_id"] != deps["net"].Attrs["subnet_id"] || deps["data"].Attrs["instance_id"] != deps["web"].ID ||
		deps["web"].Attrs["instance_type"] != "t3.medium" || deps["web"].Attrs["image_id"] != "ami-0a1b2c3d4e5f60002" {
		t.Fatalf("resources: %+v", deps)
	}
	run := srv.Calls()[slices.IndexFunc(srv.Calls(), func(c localec2.Call) bool { return c.Action == "RunInstances" })]
	if run.Params.Get("BlockDeviceMapping.1.Ebs.VolumeSize") != "50" || run.Params.Get("BlockDeviceMapping.2.DeviceName") != "/dev/sdf" ||
		run.Params.Get("SubnetId") != deps["net"].Attrs["subnet_id"] || len(run.Params.Get("ClientToken")) > 64 {
		t.Fatalf("RunInstances params: %v", run.Params)
	}
	for _, id := range []string{"net", "web", "data"} {
		if ok, err := p.Read(ctx(t), deps[id]); !ok || err != nil {
			t.Fatalf("read %s: %v %v", id, ok, err)
		}
	}
	for _, id := range []string{"data", "web", "net"} { // the rollback's reverse order
		if err := p.Delete(ctx(t), deps[id]); err != nil {
			t.Fatalf("delete %s: %v", id, err)
		}
		if err := p.Delete(ctx(t), deps[id]); err != nil {
			t.Fatalf("delete %s again: %v", id, err)
		}
		if ok, err := p.Read(ctx(t), deps[id]); ok || err != nil {
			t.Fatalf("read %s after delete: %v %v", id, ok, err)
		}
	}
	st := srv.State()
	if len(st.VPCs) != 0 || len(st.Subnets) != 0 || st.Instances[deps["web"].ID] != "terminated" || st.Volumes[deps["data"].ID] != "deleted" {
		t.Fatalf("left: %+v", st)
	}
	want := []string{"DescribeVpcs", "CreateVpc", "DescribeVpcs", "DescribeVpcs", "DescribeSubnets", "CreateSubnet",
		"DescribeImages", "RunInstances", "DescribeInstances", "DescribeInstances",
		"CreateVolume", "DescribeVolumes", "DescribeVolumes", "DescribeVolumes", "AttachVolume", "DescribeVolumes", "DescribeVolumes"}
	if got := srv.Actions()[:len(want)]; !slices.Equal(got, want) {
		t.Fatalf("calls:\n got %v\nwant %v", got, want)
	}
}

func TestIdempotentByKey(t *testing.T) {
	p, srv := setup(t)
	ts := tasks(t, `{"size_gb":50}`)
	a, err := p.Create(ctx(t), "wf/web/1", ts["web"], nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Create(ctx(t), "wf/web/1", ts["web"], nil) // a redelivered step
	if err != nil || b.ID != a.ID {
		t.Fatalf("again: %v %v, want %s", b.ID, err, a.ID)
	}
	n1, err := p.Create(ctx(t), "wf/net/1", ts["net"], nil)
	if err != nil {
		t.Fatal(err)
	}
	if n2, err := p.Create(ctx(t), "wf/net/1", ts["net"], nil); err != nil || n2.ID != n1.ID || n2.Attrs["subnet_id"] != n1.Attrs["subnet_id"] {
		t.Fatalf("network again: %+v %v, want %+v", n2, err, n1)
	}
	if c, err := p.Create(ctx(t), "wf/web/2", ts["web"], nil); err != nil || c.ID == a.ID { // a resumed run makes its own
		t.Fatalf("next run: %v %v", c.ID, err)
	}
	if st := srv.State(); len(st.Instances) != 2 || len(st.VPCs) != 1 || len(st.Subnets) != 1 {
		t.Fatalf("state: %+v", st)
	}
}

func TestErrorsRetriedOrNot(t *testing.T) {
	p, srv := setup(t)
	ts := tasks(t, `{"size_gb":10,"type":"hdd"}`)
	for _, code := range []string{"InsufficientInstanceCapacity", "RequestLimitExceeded"} {
		srv.Fail("RunInstances", code)
		_, err := p.Create(ctx(t), "wf/web/1", ts["web"], nil)
		if ec2.Code(err) != code || provisioning.IsPermanent(err) {
			t.Fatalf("%s: %v (permanent %v), want a transient error", code, err, provisioning.IsPermanent(err))
		}
	}
	srv.Fail("DescribeInstances", "RequestLimitExceeded") // while waiting: read again
	if _, err := p.Create(ctx(t), "wf/web/1", ts["web"], nil); err != nil {
		t.Fatal(err)
	}
	srv.Fail("RunInstances", "InvalidParameterValue")
	if _, err := p.Create(ctx(t), "wf/web2/1", ts["web"], nil); !provisioning.IsPermanent(err) || ec2.Code(err) != "InvalidParameterValue" {
		t.Fatalf("InvalidParameterValue: %v, want permanent", err)
	}
	// st1 (hdd) volumes start at 125 GiB: EC2 refuses 10, for good.
	if _, err := p.Create(ctx(t), "wf/data/1", ts["data"], nil); !provisioning.IsPermanent(err) || !strings.Contains(err.Error(), "InvalidParameterValue") {
		t.Fatalf("small st1: %v", err)
	}
	if st := srv.State(); len(st.Instances) != 1 || len(st.Volumes) != 0 {
		t.Fatalf("state: %+v", st)
	}
}

func TestWireFormat(t *testing.T) {
	srv := localec2.New("eu-west-1")
	hs := httptest.NewServer(srv)
	defer hs.Close()
	res, err := http.Post(hs.URL+"/?Action=DescribeInstances&Version=2016-11-15", "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 401 || !strings.Contains(string(body), "<Response><Errors><Error><Code>AuthFailure</Code>") || !strings.Contains(string(body), "<RequestID>") {
		t.Fatalf("unsigned: %d %s", res.StatusCode, body)
	}
	p, srv2 := setup(t)
	if _, err := p.Read(ctx(t), provisioning.Resource{ID: "i-0123456789abcdef0", Kind: "server"}); err != nil {
		t.Fatalf("read of a missing instance: %v", err)
	}
	if c := srv2.Calls(); len(c) != 1 || c[0].Error != "InvalidInstanceID.NotFound" {
		t.Fatalf("calls: %+v", c)
	}
}

// TestSignatures: the local EC2 checks SigV4 as EC2 does: a request signed
// with a wrong secret gets 403 SignatureDoesNotMatch, one with a key it does
// not know 401 AuthFailure, one whose signed body was changed on the way
// SignatureDoesNotMatch; the provider's own requests pass (TestLifecycle).
func TestSignatures(t *testing.T) {
	srv := localec2.New("eu-west-1")
	srv.AddKey("AKIDLOCAL", "secret")
	hs := httptest.NewServer(srv)
	defer hs.Close()
	post := func(key, secret, signed, sent string) (int, string) {
		req, _ := http.NewRequest("POST", hs.URL+"/", strings.NewReader(signed))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		sum := sha256.Sum256([]byte(signed))
		err := v4.NewSigner().SignHTTP(ctx(t), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, req,
			hex.EncodeToString(sum[:]), "ec2", "eu-west-1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		req.Body = io.NopCloser(strings.NewReader(sent))
		req.ContentLength = int64(len(sent))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	const form = "Action=DescribeVpcs&Version=2016-11-15"
	if code, body := post("AKIDLOCAL", "secret", form, form); code != 200 || !strings.Contains(body, "<DescribeVpcsResponse") {
		t.Fatalf("well signed: %d %s", code, body)
	}
	for name, c := range map[string]struct {
		key, secret, sent, code string
		status                  int
	}{
		"wrong secret":  {"AKIDLOCAL", "not-the-secret", form, "SignatureDoesNotMatch", 403},
		"unknown key":   {"AKIDOTHER", "secret", form, "AuthFailure", 401},
		"body tampered": {"AKIDLOCAL", "secret", form + "&VpcId.1=vpc-1", "SignatureDoesNotMatch", 403},
	} {
		code, body := post(c.key, c.secret, form, c.sent)
		if code != c.status || !strings.Contains(body, "<Response><Errors><Error><Code>"+c.code+"</Code>") {
			t.Fatalf("%s: %d %s", name, code, body)
		}
	}
	bad := ec2.New(&ec2.Client{Endpoint: hs.URL, Region: "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "wrong", "")}, time.Millisecond)
	if _, err := bad.Read(ctx(t), provisioning.Resource{ID: "vpc-1", Kind: "network"}); err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("provider with a wrong secret: %v", err)
	}
}
