package stacks

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// placeholderHost marks the URLs FromCatalog starts with: a deploy that kept
// them would answer 503 everywhere, so Build refuses them.
const placeholderHost = ".example.invalid"

var stagePattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)

// prefix is prepended to every deployed function name: "stratum-", or
// "stratum-<stage>-" so that several copies live in one account and region.
func (c Config) prefix() string {
	if c.Stage == "" {
		return FunctionPrefix
	}
	return FunctionPrefix + c.Stage + "-"
}

// stackName is "Stratum<Stage><name>": StratumPlatform, StratumDevPlatform.
func (c Config) stackName(name string) string { return "Stratum" + title(c.Stage) + name }

// resourceName names an account-wide resource (secret, alias, export, API):
// "stratum/<name>" or "stratum/<stage>/<name>" with sep "/".
func (c Config) resourceName(sep, name string) string {
	if c.Stage == "" {
		return "stratum" + sep + name
	}
	return "stratum" + sep + c.Stage + sep + name
}

// check refuses at synth what would deploy and then fail at run time.
func (c Config) check() error {
	var problems []string
	if c.Stage != "" && !stagePattern.MatchString(c.Stage) {
		problems = append(problems, fmt.Sprintf("stage %q: 1–12 lower-case letters or digits, starting with a letter", c.Stage))
	}
	if !c.LocalStack && !c.SelfHosted {
		for _, u := range []struct{ key, value string }{
			{"surrealUrl", c.SurrealURL}, {"natsUrl", c.NATSURL},
		} {
			if p := checkServiceURL(u.key, u.value); p != "" {
				problems = append(problems, p)
			}
		}
	}
	switch {
	case c.DomainName != "" && (c.CertificateArn == "") == (c.HostedZoneID == ""):
		problems = append(problems, "domainName takes either certificateArn (an API Gateway regional domain; the certificate covers *.<domainName>) "+
			"or hostedZoneId (CloudFront with a WAF; the certificate is made in us-east-1), not both and not neither")
	case c.DomainName == "" && (c.CertificateArn != "" || c.HostedZoneID != ""):
		problems = append(problems, "certificateArn and hostedZoneId need domainName")
	case c.edge() && (c.Env == nil || c.Env.Account == nil || c.Env.Region == nil || *c.Env.Region == ""):
		problems = append(problems, "hostedZoneId puts a stack in "+EdgeRegion+" and references it from the stacks' region: "+
			"the account and region must be known at synth (CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION, set by cdk from your AWS profile)")
	}
	if c.WafRateLimit != 0 && (c.WafRateLimit < 10 || c.WafRateLimit > 2e9) {
		problems = append(problems, "wafRateLimit: WAF takes 10 to 2 000 000 000 requests per 5 minutes")
	}
	if c.ThrottleRate < 0 || c.ThrottleBurst < 0 {
		problems = append(problems, "throttleRate and throttleBurst must be ≥ 0")
	}
	if len(problems) > 0 {
		return fmt.Errorf("config: %s", strings.Join(problems, "; "))
	}
	return nil
}

func checkServiceURL(key, value string) string {
	u, err := url.Parse(value)
	switch {
	case value == "":
		return fmt.Sprintf("%s is not set: pass -c %s=… (managed service) or -c selfHosted=true", key, key)
	case strings.HasSuffix(hostOf(u, err), placeholderHost):
		return fmt.Sprintf("%s is the placeholder %s: pass -c %s=… with your service's URL, or -c selfHosted=true", key, value, key)
	case err != nil || u.Host == "":
		return fmt.Sprintf("%s %q is not a URL", key, value)
	// A managed service is reached over the internet: passwords, tokens and
	// secrets must not cross it in clear.
	case key == "surrealUrl" && u.Scheme != "wss":
		return fmt.Sprintf("%s %q: want wss://… (a managed SurrealDB is reached over the internet; ws:// would send the password in clear)", key, value)
	case key == "natsUrl" && u.Scheme != "tls":
		return fmt.Sprintf("%s %q: want tls://… (a managed NATS is reached over the internet)", key, value)
	}
	return ""
}

func hostOf(u *url.URL, err error) string {
	if err != nil {
		return ""
	}
	return u.Hostname()
}
