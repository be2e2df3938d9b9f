package stacks_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/stratumiops/stratumiops/infra/stacks"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/vapora/ui"
)

// CloudFront's managed policies: nothing cached; every viewer header (the
// vault's X-Vault-Token, Authorization, X-API-Key), cookie and query string
// but Host, which API Gateway needs to be its own.
const (
	cachingDisabled        = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
	allViewerExceptHost    = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
	allMethods             = 7
	vaporaStack, edgeStack = "StratumVapora", "StratumEdge"
)

func js(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

// distribution returns the one distribution of tpl's config, its origins by id
// and its behaviours by path pattern ("" for the default).
func distribution(t *testing.T, tpl map[string]any) (map[string]any, map[string]map[string]any, map[string]map[string]any) {
	t.Helper()
	dists := resources(tpl, "AWS::CloudFront::Distribution")
	if len(dists) != 1 {
		t.Fatalf("%d distributions, want 1", len(dists))
	}
	var cfg map[string]any
	for _, d := range dists {
		cfg = props(d)["DistributionConfig"].(map[string]any)
	}
	origins := map[string]map[string]any{}
	for _, o := range cfg["Origins"].([]any) {
		origins[o.(map[string]any)["Id"].(string)] = o.(map[string]any)
	}
	behaviours := map[string]map[string]any{"": cfg["DefaultCacheBehavior"].(map[string]any)}
	extra, _ := cfg["CacheBehaviors"].([]any)
	for _, b := range extra {
		behaviours[b.(map[string]any)["PathPattern"].(string)] = b.(map[string]any)
	}
	return cfg, origins, behaviours
}

// apiBehaviour checks that b forwards everything but Host to an API, uncached.
func apiBehaviour(t *testing.T, what string, b map[string]any, methods int) {
	t.Helper()
	if b["CachePolicyId"] != cachingDisabled || b["OriginRequestPolicyId"] != allViewerExceptHost ||
		len(b["AllowedMethods"].([]any)) != methods || b["ViewerProtocolPolicy"] != "https-only" {
		t.Errorf("%s behaviour: %s", what, js(b))
	}
}

func TestVaporaPageAPIAndWebSocketShareOneOrigin(t *testing.T) {
	s := synth(t, managedCatalog())
	if s.stacks.Edge != nil {
		t.Error("an edge stack without -c hostedZoneId")
	}
	tpl := s.templates[vaporaStack]
	cfg, origins, behaviours := distribution(t, tpl)
	if cfg["Aliases"] != nil || cfg["WebACLId"] != nil {
		t.Errorf("off the edge: no alias, no WebACL: %s", js(cfg))
	}
	origin := func(b map[string]any) map[string]any { return origins[b["TargetOriginId"].(string)] }

	// The API: every method, uncached, credentials forwarded.
	apiBehaviour(t, "default (HTTP API)", behaviours[""], allMethods)
	if d := js(origin(behaviours[""])["DomainName"]); !strings.Contains(d, `"Api`) || !strings.Contains(d, "ApiEndpoint") {
		t.Errorf("default origin is not the HTTP API: %s", d)
	}
	// The WebSocket at the devstack's path, on the stage of that name.
	ws := catalog.WebSocketsOf("vapora")[0]
	apiBehaviour(t, ws.Path, behaviours[ws.Path], 2)
	if d := js(origin(behaviours[ws.Path])["DomainName"]); !strings.Contains(d, "WebSocketApi") {
		t.Errorf("%s origin is not the WebSocket API: %s", ws.Path, d)
	}
	// The page from the private bucket through origin access control.
	site := catalog.SitesOf("vapora")[0]
	page := behaviours[site.Prefix+"*"]
	if page == nil {
		t.Fatalf("no %s* behaviour: %v", site.Prefix, slices.Collect(maps.Keys(behaviours)))
	}
	po := origin(page)
	if po["S3OriginConfig"] == nil || po["OriginAccessControlId"] == nil || js(po["S3OriginConfig"]) != `{"OriginAccessIdentity":""}` {
		t.Errorf("page origin without OAC: %s", js(po))
	}
	if page["FunctionAssociations"] == nil || len(page["AllowedMethods"].([]any)) != 2 {
		t.Errorf("page behaviour: %s", js(page))
	}
	for _, oac := range resources(tpl, "AWS::CloudFront::OriginAccessControl") {
		c := props(oac)["OriginAccessControlConfig"].(map[string]any)
		if c["OriginAccessControlOriginType"] != "s3" || c["SigningBehavior"] != "always" || c["SigningProtocol"] != "sigv4" {
			t.Errorf("OAC: %s", js(c))
		}
	}
	for _, p := range resources(tpl, "AWS::CloudFront::ResponseHeadersPolicy") {
		if csp := js(props(p)); !strings.Contains(csp, js(ui.CSP)) {
			t.Errorf("the page's CSP differs from the devstack's %q: %s", ui.CSP, csp)
		}
	}
	checkPrivateBucket(t, tpl)
	deployments := resources(tpl, "Custom::CDKBucketDeployment")
	if len(deployments) != 1 {
		t.Errorf("%d page deployments", len(deployments))
	}
	for _, d := range deployments {
		p := props(d)
		if p["DestinationBucketKeyPrefix"] != strings.TrimPrefix(site.Prefix, "/") || js(p["DistributionPaths"]) != js([]string{site.Prefix + "*"}) {
			t.Errorf("page deployment: %s", js(p))
		}
	}
	checkWebSocketAPI(t, s, tpl, ws)
	// Other systems have nothing to share an origin with, off the edge.
	for name, other := range s.templates {
		if name != vaporaStack && len(resources(other, "AWS::CloudFront::Distribution")) > 0 {
			t.Errorf("%s has a distribution off the edge", name)
		}
	}
}

// checkPrivateBucket: all public access blocked, TLS only, and read only by
// this stack's distribution.
func checkPrivateBucket(t *testing.T, tpl map[string]any) {
	t.Helper()
	buckets := resources(tpl, "AWS::S3::Bucket")
	if len(buckets) != 1 {
		t.Fatalf("%d buckets", len(buckets))
	}
	for _, b := range buckets {
		if js(props(b)["PublicAccessBlockConfiguration"]) != `{"BlockPublicAcls":true,"BlockPublicPolicy":true,"IgnorePublicAcls":true,"RestrictPublicBuckets":true}` {
			t.Errorf("bucket not private: %s", js(props(b)))
		}
	}
	var dist string
	for id := range resources(tpl, "AWS::CloudFront::Distribution") {
		dist = id
	}
	reads := 0
	for _, pol := range resources(tpl, "AWS::S3::BucketPolicy") {
		for _, st := range props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			m := st.(map[string]any)
			if m["Effect"] == "Deny" {
				continue
			}
			if js(m["Principal"]) != `{"Service":"cloudfront.amazonaws.com"}` || js(m["Action"]) != `"s3:GetObject"` ||
				!strings.Contains(js(m["Condition"]), "AWS:SourceArn") || !strings.Contains(js(m["Condition"]), dist) {
				t.Errorf("bucket policy allows more than its distribution's reads: %s", js(m))
			}
			reads++
		}
	}
	if reads != 1 {
		t.Errorf("%d allow statements, want CloudFront's read", reads)
	}
}

// checkWebSocketAPI: $connect, $disconnect and $default to the function,
// $default answering the connection (a route response), the stage throttled,
// and the pusher allowed to post to its connections only.
func checkWebSocketAPI(t *testing.T, s synthesized, tpl map[string]any, ws catalog.WebSocket) {
	t.Helper()
	routes := map[string]string{} // route key → logical id
	for id, r := range resources(tpl, "AWS::ApiGatewayV2::Route") {
		p := props(r)
		key := p["RouteKey"].(string)
		if !strings.HasPrefix(key, "$") {
			continue
		}
		routes[key] = id
		if !strings.Contains(js(p["Target"]), "WebSocketApi") {
			t.Errorf("%s: target %s", key, js(p["Target"]))
		}
		if want := key == "$default"; (p["RouteResponseSelectionExpression"] == "$default") != want {
			t.Errorf("%s: route response selection %v", key, p["RouteResponseSelectionExpression"])
		}
	}
	if len(routes) != 3 || routes["$connect"] == "" || routes["$disconnect"] == "" || routes["$default"] == "" {
		t.Fatalf("WebSocket routes %v", routes)
	}
	responses := resources(tpl, "AWS::ApiGatewayV2::RouteResponse")
	if len(responses) != 1 {
		t.Fatalf("%d route responses, want $default's", len(responses))
	}
	for _, r := range responses {
		p := props(r)
		if p["RouteResponseKey"] != "$default" || js(p["RouteId"]) != js(map[string]any{"Ref": routes["$default"]}) {
			t.Errorf("route response: %s", js(p))
		}
	}
	fn := logicalID(t, s, ws.Function)
	for _, i := range resources(tpl, "AWS::ApiGatewayV2::Integration") {
		if p := props(i); p["IntegrationType"] == "AWS_PROXY" && strings.Contains(js(p["ApiId"]), "WebSocketApi") && !strings.Contains(js(p["IntegrationUri"]), fn) {
			t.Errorf("WebSocket integration not %s: %s", ws.Function, js(p))
		}
	}
	stages := 0
	for _, st := range resources(tpl, "AWS::ApiGatewayV2::Stage") {
		p := props(st)
		if !strings.Contains(js(p["ApiId"]), "WebSocketApi") {
			continue
		}
		stages++
		if p["StageName"] != strings.Trim(ws.Path, "/") || p["AutoDeploy"] != true ||
			!strings.Contains(js(p["DefaultRouteSettings"]), `"ThrottlingBurstLimit":200`) {
			t.Errorf("WebSocket stage: %s", js(p))
		}
	}
	if stages != 1 {
		t.Errorf("%d WebSocket stages", stages)
	}
	alarmed := map[string]bool{}
	for _, a := range resources(tpl, "AWS::CloudWatch::Alarm") {
		if p := props(a); strings.Contains(js(p["Dimensions"]), "WebSocketApi") && len(p["AlarmActions"].([]any)) == 1 {
			alarmed[p["MetricName"].(string)] = true
		}
	}
	if !alarmed["ExecutionError"] || !alarmed["IntegrationError"] || !alarmed["IntegrationLatency"] {
		t.Errorf("WebSocket API alarms: %v", alarmed)
	}
	push := props(resources(tpl, "AWS::Lambda::Function")[logicalID(t, s, "vapora-live-push")])
	if !strings.Contains(js(push["Environment"]), `"VAPORA_WS_ENDPOINT"`) {
		t.Errorf("vapora-live-push has no endpoint: %s", js(push["Environment"]))
	}
	granted := 0
	for _, st := range statements(s) {
		if hasAction(st, "execute-api:") {
			granted++
			if len(st.Actions) != 1 || st.Actions[0] != "execute-api:ManageConnections" || len(st.Resources) != 1 ||
				!strings.HasSuffix(st.Resources[0], `/ws/POST/@connections/*"]]}`) {
				t.Errorf("push grant: %+v", st)
			}
		}
	}
	if granted != 1 {
		t.Errorf("%d execute-api grants, want the pusher's", granted)
	}
}

// edgeConfig is the real catalog at the edge: behind CloudFront with a WAF at
// ops.example.com, the stacks in eu-west-1.
func edgeConfig() stacks.Config {
	cfg := managedCatalog()
	cfg.DomainName, cfg.HostedZoneID = "ops.example.com", "Z0123456789ABC"
	cfg.Env = &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("eu-west-1")}
	return cfg
}

func TestEdgeStackInUSEast1WithWAFAndCertificate(t *testing.T) {
	s := synth(t, edgeConfig())
	if s.stacks.Edge == nil || *s.stacks.Edge.Region() != stacks.EdgeRegion {
		t.Fatalf("edge stack: %v", s.stacks.Edge)
	}
	edge := s.templates[edgeStack]
	acls := resources(edge, "AWS::WAFv2::WebACL")
	if len(acls) != 1 {
		t.Fatalf("%d WebACLs", len(acls))
	}
	for _, acl := range acls {
		p := props(acl)
		var names []string
		for _, r := range p["Rules"].([]any) {
			names = append(names, r.(map[string]any)["Name"].(string))
		}
		rules := js(p["Rules"])
		if p["Scope"] != "CLOUDFRONT" || !slices.Equal(names, []string{"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "RatePerIp"}) ||
			!strings.Contains(rules, `"RateBasedStatement":{"AggregateKeyType":"IP","Limit":2000}`) || js(p["DefaultAction"]) != `{"Allow":{}}` {
			t.Errorf("WebACL: %s", js(p))
		}
	}
	if len(resources(edge, "AWS::WAFv2::LoggingConfiguration")) != 1 {
		t.Error("WebACL not logged")
	}
	certs := resources(edge, "AWS::CertificateManager::Certificate")
	for _, c := range certs {
		p := props(c)
		if p["DomainName"] != "*.ops.example.com" || p["ValidationMethod"] != "DNS" || !strings.Contains(js(p["DomainValidationOptions"]), `"HostedZoneId":"Z0123456789ABC"`) {
			t.Errorf("certificate: %s", js(p))
		}
	}
	if len(certs) != 1 {
		t.Errorf("%d certificates", len(certs))
	}
	// Every API is behind its own name, the certificate and the WebACL.
	for _, sys := range catalog.Systems {
		if !slices.ContainsFunc(catalog.OfSystem(sys.Name), func(f catalog.Function) bool { return f.Kind == catalog.HTTP }) {
			continue
		}
		name := "Stratum" + strings.ToUpper(sys.Name[:1]) + sys.Name[1:]
		tpl := s.templates[name]
		cfg, _, behaviours := distribution(t, tpl)
		host := sys.Name + ".ops.example.com"
		cert := cfg["ViewerCertificate"].(map[string]any)
		if js(cfg["Aliases"]) != js([]string{host}) || cfg["WebACLId"] == nil || cert["AcmCertificateArn"] == nil ||
			cert["MinimumProtocolVersion"] != "TLSv1.2_2021" || cert["SslSupportMethod"] != "sni-only" {
			t.Errorf("%s distribution: %s", name, js(cfg))
		}
		// From us-east-1 through the CDK's cross-region references.
		if !strings.Contains(js(cfg["WebACLId"]), "ExportsReader") || !strings.Contains(js(cert["AcmCertificateArn"]), "ExportsReader") {
			t.Errorf("%s: WebACL and certificate not read from %s: %s", name, stacks.EdgeRegion, js(cfg))
		}
		apiBehaviour(t, name+" default", behaviours[""], allMethods)
		records := map[string]bool{}
		for _, r := range resources(tpl, "AWS::Route53::RecordSet") {
			p := props(r)
			if p["Name"] == host+"." && p["HostedZoneId"] == "Z0123456789ABC" && p["AliasTarget"] != nil {
				records[p["Type"].(string)] = true
			}
		}
		if !records["A"] || !records["AAAA"] {
			t.Errorf("%s: alias records %v", name, records)
		}
		if len(resources(tpl, "AWS::ApiGatewayV2::DomainName")) != 0 {
			t.Errorf("%s: a regional domain as well as the edge", name)
		}
	}
}

func TestNagEdge(t *testing.T) {
	for _, f := range nagFindings(t, edgeConfig()) {
		t.Error(f)
	}
}
