package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53targets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

// SiteCSP is the Content-Security-Policy CloudFront adds to a page's files:
// the devstack's (shared/vapora/ui.CSP; a test keeps them equal): scripts,
// styles and calls from the page's own origin only, no inline code.
const SiteCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// needsDistribution: a system gets a CloudFront distribution when it has a
// page or a WebSocket API to put beside its HTTP API on one origin, and every
// system with an HTTP API does at the edge (-c domainName with hostedZoneId).
func needsDistribution(cfg Config, sys string) bool {
	if cfg.LocalStack {
		return false
	}
	return cfg.edge() || len(sitesOf(cfg, sys)) > 0 || len(webSocketsOf(cfg, sys)) > 0
}

// newDistribution puts a system behind one CloudFront origin, as its gateway
// serves it in the devstack: the HTTP API by default (all methods, every
// viewer header but Host — X-Vault-Token, Authorization, X-API-Key — and
// query string, nothing cached), each WebSocket API at its path (the same,
// for the upgrade and ?token=), and each page under its prefix from a private
// S3 bucket read through origin access control. At the edge it answers at
// <system>[-<stage>].<domainName> with the us-east-1 certificate and WebACL.
func newDistribution(stack awscdk.Stack, cfg Config, sys catalog.System, api awsapigatewayv2.HttpApi, sockets []*webSocket, e *edge) awscloudfront.Distribution {
	apiBehaviour := func(endpoint *string, methods awscloudfront.AllowedMethods) *awscloudfront.BehaviorOptions {
		host := awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), endpoint, nil))
		return &awscloudfront.BehaviorOptions{
			Origin: awscloudfrontorigins.NewHttpOrigin(host, &awscloudfrontorigins.HttpOriginProps{
				ProtocolPolicy: awscloudfront.OriginProtocolPolicy_HTTPS_ONLY,
				ReadTimeout:    awscdk.Duration_Seconds(jsii.Number(30)),
			}),
			AllowedMethods:       methods,
			ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_HTTPS_ONLY,
			CachePolicy:          awscloudfront.CachePolicy_CACHING_DISABLED(),
			OriginRequestPolicy:  awscloudfront.OriginRequestPolicy_ALL_VIEWER_EXCEPT_HOST_HEADER(),
			Compress:             jsii.Bool(false),
		}
	}
	extra := map[string]*awscloudfront.BehaviorOptions{}
	for _, ws := range sockets {
		extra[ws.spec.Path] = apiBehaviour(ws.api.ApiEndpoint(), awscloudfront.AllowedMethods_ALLOW_GET_HEAD())
	}
	var sites []siteBucket
	for _, site := range sitesOf(cfg, sys.Name) {
		b := newSiteBucket(stack, cfg, site)
		extra[site.Prefix+"*"] = b.behaviour
		sites = append(sites, b)
	}
	props := &awscloudfront.DistributionProps{
		Comment:             jsii.String("StratumIOps " + sys.Name + ": API, WebSockets and page on one origin"),
		DefaultBehavior:     apiBehaviour(api.ApiEndpoint(), awscloudfront.AllowedMethods_ALLOW_ALL()),
		AdditionalBehaviors: &extra,
		PriceClass:          awscloudfront.PriceClass_PRICE_CLASS_100,
		HttpVersion:         awscloudfront.HttpVersion_HTTP2_AND_3,
	}
	host := apiHost(cfg, sys)
	if e != nil {
		props.DomainNames = jsii.Strings(host)
		props.Certificate = e.certificate
		props.WebAclId = e.webACL.AttrArn()
		props.MinimumProtocolVersion = awscloudfront.SecurityPolicyProtocol_TLS_V1_2_2021
	}
	dist := awscloudfront.NewDistribution(stack, jsii.String("Distribution"), props)
	for i, b := range sites {
		b.deploy(stack, i, dist)
	}
	url := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), dist.DistributionDomainName()})
	if e != nil {
		zone := awsroute53.HostedZone_FromHostedZoneAttributes(stack, jsii.String("Zone"), &awsroute53.HostedZoneAttributes{
			HostedZoneId: jsii.String(cfg.HostedZoneID), ZoneName: jsii.String(cfg.DomainName)})
		target := awsroute53.RecordTarget_FromAlias(awsroute53targets.NewCloudFrontTarget(dist))
		awsroute53.NewARecord(stack, jsii.String("EdgeA"), &awsroute53.ARecordProps{Zone: zone, RecordName: jsii.String(host), Target: target})
		awsroute53.NewAaaaRecord(stack, jsii.String("EdgeAAAA"), &awsroute53.AaaaRecordProps{Zone: zone, RecordName: jsii.String(host), Target: target})
		url = jsii.String("https://" + host)
	}
	awscdk.NewCfnOutput(stack, jsii.String("EdgeUrl"), &awscdk.CfnOutputProps{Value: url,
		Description: jsii.String("The " + sys.Name + " API through CloudFront (and its page and WebSockets, if any)")})
	suppressDistribution(dist, e != nil)
	return dist
}

// siteBucket is a page's private bucket, its behaviour and its files.
type siteBucket struct {
	site      catalog.Site
	dir       string
	bucket    awss3.Bucket
	behaviour *awscloudfront.BehaviorOptions
}

func newSiteBucket(stack awscdk.Stack, cfg Config, site catalog.Site) siteBucket {
	id := "Site" + title(strings.Trim(site.Prefix, "/"))
	bucket := awss3.NewBucket(stack, jsii.String(id+"Bucket"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		// The files are rebuilt from the repository by every deploy.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(bucket, &[]*cdknag.NagPackSuppression{{Id: jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("The page's files, public by nature and written only by the deploy; CloudFront reads them through origin access control")}}, jsii.Bool(true))
	// The page routes itself: a path without a file extension is its shell,
	// as the devstack's handler answers.
	shell := awscloudfront.NewFunction(stack, jsii.String(id+"Shell"), &awscloudfront.FunctionProps{
		Runtime: awscloudfront.FunctionRuntime_JS_2_0(),
		Comment: jsii.String("Serves " + site.Prefix + "index.html for the page's own routes"),
		Code: awscloudfront.FunctionCode_FromInline(jsii.String(`function handler(event) {
  var r = event.request;
  var last = r.uri.substring(r.uri.lastIndexOf('/') + 1);
  if (last.indexOf('.') < 0) { r.uri = '` + site.Prefix + `index.html'; }
  return r;
}`)),
	})
	headers := awscloudfront.NewResponseHeadersPolicy(stack, jsii.String(id+"Headers"), &awscloudfront.ResponseHeadersPolicyProps{
		Comment: jsii.String("The page's security headers, as the devstack sends them"),
		SecurityHeadersBehavior: &awscloudfront.ResponseSecurityHeadersBehavior{
			ContentSecurityPolicy: &awscloudfront.ResponseHeadersContentSecurityPolicy{ContentSecurityPolicy: jsii.String(SiteCSP), Override: jsii.Bool(true)},
			ContentTypeOptions:    &awscloudfront.ResponseHeadersContentTypeOptions{Override: jsii.Bool(true)},
			FrameOptions:          &awscloudfront.ResponseHeadersFrameOptions{FrameOption: awscloudfront.HeadersFrameOption_DENY, Override: jsii.Bool(true)},
			// ?token= must not leak to other sites through the referrer.
			ReferrerPolicy: &awscloudfront.ResponseHeadersReferrerPolicy{ReferrerPolicy: awscloudfront.HeadersReferrerPolicy_NO_REFERRER, Override: jsii.Bool(true)},
			StrictTransportSecurity: &awscloudfront.ResponseHeadersStrictTransportSecurity{
				AccessControlMaxAge: awscdk.Duration_Days(jsii.Number(365)), IncludeSubdomains: jsii.Bool(false), Override: jsii.Bool(true)},
		},
	})
	return siteBucket{site: site, dir: cfg.SiteDirs[site.System], bucket: bucket, behaviour: &awscloudfront.BehaviorOptions{
		Origin:                awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(bucket, nil),
		AllowedMethods:        awscloudfront.AllowedMethods_ALLOW_GET_HEAD(),
		ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
		CachePolicy:           awscloudfront.CachePolicy_CACHING_OPTIMIZED(),
		ResponseHeadersPolicy: headers,
		FunctionAssociations: &[]*awscloudfront.FunctionAssociation{{
			EventType: awscloudfront.FunctionEventType_VIEWER_REQUEST, Function: shell}},
	}}
}

// deploy copies the page's files under its prefix and invalidates them.
// Objects are no-cache, as the devstack serves them: browsers revalidate.
func (b siteBucket) deploy(stack awscdk.Stack, i int, dist awscloudfront.Distribution) {
	prefix := strings.TrimPrefix(b.site.Prefix, "/")
	awss3deployment.NewBucketDeployment(stack, jsii.String("SiteDeployment"+title(strings.Trim(b.site.Prefix, "/"))), &awss3deployment.BucketDeploymentProps{
		Sources:              &[]awss3deployment.ISource{awss3deployment.Source_Asset(jsii.String(b.dir), nil)},
		DestinationBucket:    b.bucket,
		DestinationKeyPrefix: jsii.String(prefix),
		CacheControl:         &[]awss3deployment.CacheControl{awss3deployment.CacheControl_NoCache()},
		Distribution:         dist,
		DistributionPaths:    jsii.Strings(b.site.Prefix + "*"),
		Prune:                jsii.Bool(true),
	})
	if i == 0 {
		suppressBucketDeployment(stack)
	}
}

// apiHost is a system's name under the deployment's domain.
func apiHost(cfg Config, sys catalog.System) string {
	if cfg.Stage != "" {
		return sys.Name + "-" + cfg.Stage + "." + cfg.DomainName
	}
	return sys.Name + "." + cfg.DomainName
}

func sitesOf(cfg Config, system string) []catalog.Site {
	var out []catalog.Site
	for _, s := range cfg.Sites {
		if s.System == system {
			out = append(out, s)
		}
	}
	return out
}

// webSocketsOf lists the WebSocket APIs a system deploys: none on LocalStack.
func webSocketsOf(cfg Config, system string) []catalog.WebSocket {
	if cfg.LocalStack {
		return nil
	}
	var out []catalog.WebSocket
	for _, w := range cfg.WebSockets {
		if w.System == system {
			out = append(out, w)
		}
	}
	return out
}
