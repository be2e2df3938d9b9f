package stacks_test

import (
	"fmt"
	"sort"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"github.com/stratumiops/stratumiops/infra/stacks"
)

// nagFindings synthesizes cfg under cdk-nag's AwsSolutions checks and returns
// every unsuppressed finding as "stack path: message".
func nagFindings(t *testing.T, cfg stacks.Config) []string {
	t.Helper()
	if cfg.DistDir == "" {
		cfg.DistDir = fakeDist(t, cfg.Functions)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	st, err := stacks.Build(app, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stacks.Nag(app)
	all := []awscdk.Stack{st.Platform}
	for _, s := range st.Systems {
		all = append(all, s)
	}
	if st.Dispatcher != nil {
		all = append(all, st.Dispatcher)
	}
	if st.Edge != nil {
		all = append(all, st.Edge)
	}
	var out []string
	for _, s := range all {
		ann := assertions.Annotations_FromStack(s)
		any := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
		for _, list := range []*[]*cxapi.SynthesisMessage{ann.FindError(jsii.String("*"), any), ann.FindWarning(jsii.String("*"), any)} {
			for _, m := range *list {
				out = append(out, fmt.Sprintf("%s %s: %v", *s.StackName(), *m.Id, m.Entry.Data))
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestNagManaged(t *testing.T) {
	for _, f := range nagFindings(t, managedCatalog()) {
		t.Error(f)
	}
}

func TestNagSelfHosted(t *testing.T) {
	cfg := stacks.FromCatalog("")
	cfg.SelfHosted = true
	for _, f := range nagFindings(t, cfg) {
		t.Error(f)
	}
}

// managedCatalog is the real catalog with managed services' URLs.
func managedCatalog() stacks.Config {
	cfg := stacks.FromCatalog("")
	cfg.SurrealURL, cfg.NATSURL = "wss://db.surreal.cloud", "tls://connect.ngs.global:4222"
	return cfg
}
