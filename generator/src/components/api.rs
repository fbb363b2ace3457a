//! The regional REST API (pitfalls 21, 22, 24, 25): POST /payments,
//! GET /payments/{id} and GET /health, each an AWS_PROXY integration.
//! The payment routes use AWS_IAM authorization and a resource policy that
//! allows only the configured principals; GET /health stays open (Route 53
//! health checkers cannot sign). A regional WAFv2 web ACL guards the stage.

use crate::model::expr::{call, interp, list, lit, object, tpl, Expr, Ref, Root};
use crate::model::{Address, Body, Lifecycle};
use crate::policy::naming::{Name, NameKind};
use crate::policy::Scope;

use super::compute::Lambda;
use super::{assume_role, attach, Env};

/// The stage every route is served from.
pub const STAGE: &str = "live";
/// Stage-wide throttling.
pub const THROTTLE_RATE: i64 = 500;
pub const THROTTLE_BURST: i64 = 1000;

pub use crate::policy::constants::OPEN_ROUTE;

/// The managed rule groups of the web ACL, in priority order, with the
/// rules of each group that only count: the anonymous-IP group's hosting
/// provider list would block callers that run in AWS (the payment routes'
/// callers are AWS principals); Tor and anonymizing proxies stay blocked.
pub const WAF_MANAGED_RULE_GROUPS: &[(&str, &[&str])] = &[
    ("AWSManagedRulesCommonRuleSet", &[]),
    ("AWSManagedRulesKnownBadInputsRuleSet", &[]),
    ("AWSManagedRulesAnonymousIpList", &["HostingProviderIPList"]),
];

/// Module inputs of the API.
#[derive(Debug, Clone)]
pub struct ApiInputs {
    /// `list(string)`: account ids or IAM role/user ARNs allowed to invoke
    /// the payment routes.
    pub allowed_principals: Expr,
    /// Requests per source IP in 5 minutes before the WAF blocks.
    pub rate_limit: Expr,
    /// `bool`: true when clients must come through the mTLS custom domain.
    pub disable_execute_api_endpoint: Expr,
}

/// One route: method, resource path and the path pattern for permissions.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub local: &'static str,
    pub method: &'static str,
    /// Path as API Gateway shows it.
    pub path: &'static str,
    /// Path as it appears in a source ARN (`{id}` becomes `*`).
    pub arn_path: &'static str,
}

/// The routes of the payment API.
pub const ROUTES: &[Route] = &[
    Route {
        local: "post_payments",
        method: "POST",
        path: "/payments",
        arn_path: "payments",
    },
    Route {
        local: "get_payment",
        method: "GET",
        path: "/payments/{id}",
        arn_path: "payments/*",
    },
    Route {
        local: "get_health",
        method: "GET",
        path: "/health",
        arn_path: "health",
    },
];

/// What other components need.
#[derive(Debug, Clone)]
pub struct Api {
    pub rest_api: Address,
    pub stage: Address,
    /// The health-only REST API (`count` = 1 when the execute-api endpoint
    /// is disabled, i.e. with mutual TLS on the custom domain).
    pub health_api: Address,
    pub health_stage: Address,
}

impl Api {
    /// `{api_id}.execute-api.{region}.amazonaws.com`
    pub fn host(&self, env: &Env) -> Expr {
        tpl(vec![
            interp(self.rest_api.attr("id")),
            lit(".execute-api."),
            interp(env.region.clone()),
            lit(".amazonaws.com"),
        ])
    }
}

/// The API Gateway resources (path parts) of the payment API.
struct Resources {
    payments: Address,
    payment_id: Address,
    health: Address,
}

impl Resources {
    /// The resource a route is served on.
    fn of(&self, route: &Route) -> &Address {
        match route.local {
            "post_payments" => &self.payments,
            "get_payment" => &self.payment_id,
            _ => &self.health,
        }
    }
}

/// What the routes made: the deployment's trigger inputs and the
/// integrations it waits for.
struct Routes {
    triggers: Vec<Expr>,
    integrations: Vec<Address>,
}

/// The account-wide logging role and the stage's access log group.
struct Logging {
    account: Address,
    log_group: Address,
}

/// Builds the API and its permissions.
pub fn build(
    scope: &mut Scope<'_>,
    env: &Env,
    lambda: &Lambda,
    app_key: &Address,
    inputs: &ApiInputs,
) -> Api {
    let rest_api = rest_api(scope, inputs);
    let resources = resources(scope, &rest_api);
    let mut routes = routes(scope, &rest_api, &resources, lambda);
    // Also redeploy when the function's integration target changes.
    routes.triggers.push(lambda.function.attr("invoke_arn"));
    // Who may invoke: a policy change must redeploy the stage, so the
    // policy document is part of the trigger hash.
    let policy = resource_policy(scope, &rest_api, inputs);
    routes.triggers.push(policy.attr("policy"));
    let deployment = deployment(scope, &rest_api, routes);
    let logging = logging(scope, env, app_key);
    let stage = stage(scope, &rest_api, &deployment, &logging);

    let acl = web_acl(scope, &stage, app_key, inputs);
    let (health_api, health_stage) = health_api(scope, lambda, &logging, &acl, inputs);

    Api {
        rest_api,
        stage,
        health_api,
        health_stage,
    }
}

/// The payment REST API itself.
fn rest_api(scope: &mut Scope<'_>, inputs: &ApiInputs) -> Address {
    let api = scope
        .named(
            "aws_api_gateway_rest_api",
            "payments",
            &Name::of(NameKind::RestApi),
        )
        .set(
            "description",
            "Payment API (regional; failover by Route 53)",
        )
        .block(
            "endpoint_configuration",
            Body::new().set("types", list([Expr::from("REGIONAL")])),
        )
        // With mutual TLS on the custom domain, the default endpoint would
        // be a way around the client certificate check.
        .set(
            "disable_execute_api_endpoint",
            inputs.disable_execute_api_endpoint.clone(),
        )
        // A replacement API is created before the old one goes (names
        // need not be unique), so clients never see a missing API.
        .lifecycle(Lifecycle {
            create_before_destroy: true,
            ..Lifecycle::default()
        });
    scope.add(api)
}

/// `/payments`, `/payments/{id}` and `/health`.
fn resources(scope: &mut Scope<'_>, rest_api: &Address) -> Resources {
    let mut resource = |local: &str, parent: Expr, path_part: &str| {
        let d = scope
            .unnamed("aws_api_gateway_resource", local)
            .set("rest_api_id", rest_api.attr("id"))
            .set("parent_id", parent)
            .set("path_part", path_part);
        scope.add(d)
    };
    let payments = resource("payments", rest_api.attr("root_resource_id"), "payments");
    let payment_id = resource("payment_id", payments.attr("id"), "{id}");
    let health = resource("health", rest_api.attr("root_resource_id"), "health");
    Resources {
        payments,
        payment_id,
        health,
    }
}

/// Every route: method, Lambda integration and invoke permission, behind
/// one request validator.
fn routes(
    scope: &mut Scope<'_>,
    rest_api: &Address,
    resources: &Resources,
    lambda: &Lambda,
) -> Routes {
    let mut routes = Routes {
        triggers: vec![
            resources.payments.attr("id"),
            resources.payment_id.attr("id"),
            resources.health.attr("id"),
        ],
        integrations: Vec::new(),
    };
    // API Gateway checks required parameters before invoking the function:
    // the payment id path parameter and the Idempotency-Key header.
    let validator = scope
        .named(
            "aws_api_gateway_request_validator",
            "params",
            &Name::of(NameKind::RequestValidator),
        )
        .set("rest_api_id", rest_api.attr("id"))
        .set("validate_request_parameters", true)
        .set("validate_request_body", false);
    let validator = scope.add(validator);
    for route in ROUTES {
        let resource = resources.of(route);
        let method = method(scope, rest_api, resource, &validator, route);
        let i = scope
            .unnamed("aws_api_gateway_integration", route.local)
            .set("rest_api_id", rest_api.attr("id"))
            .set("resource_id", resource.attr("id"))
            .set("http_method", method.attr("http_method"))
            .set("type", "AWS_PROXY")
            .set("integration_http_method", "POST")
            .set("uri", lambda.function.attr("invoke_arn"));
        let integration = scope.add(i);
        routes.triggers.push(method.attr("id"));
        routes.triggers.push(integration.attr("id"));
        routes.integrations.push(integration);
        invoke_permission(scope, rest_api, lambda, route);
    }
    routes
}

/// The method of a route, with the request parameters it requires.
fn method(
    scope: &mut Scope<'_>,
    rest_api: &Address,
    resource: &Address,
    validator: &Address,
    route: &Route,
) -> Address {
    let mut m = scope
        .unnamed("aws_api_gateway_method", route.local)
        .set("rest_api_id", rest_api.attr("id"))
        .set("resource_id", resource.attr("id"))
        .set("http_method", route.method)
        .set("authorization", authorization(route))
        .set("request_validator_id", validator.attr("id"));
    if route.local == "post_payments" {
        m = m.set(
            "request_parameters",
            object([("method.request.header.Idempotency-Key", Expr::Bool(true))]),
        );
    }
    if route.local == "get_payment" {
        m = m.set(
            "request_parameters",
            object([("method.request.path.id", Expr::Bool(true))]),
        );
    }
    scope.add(m)
}

/// Lets API Gateway invoke the function for one route only.
fn invoke_permission(scope: &mut Scope<'_>, rest_api: &Address, lambda: &Lambda, route: &Route) {
    let p = scope
        .unnamed("aws_lambda_permission", route.local)
        .set(
            "statement_id",
            format!("AllowApiGateway-{}", route.local.replace('_', "-")),
        )
        .set("action", "lambda:InvokeFunction")
        .set("function_name", lambda.function.attr("function_name"))
        .set("principal", "apigateway.amazonaws.com")
        .set(
            "source_arn",
            tpl(vec![
                interp(rest_api.attr("execution_arn")),
                lit(&format!("/*/{}/{}", route.method, route.arn_path)),
            ]),
        );
    scope.add(p);
}

/// The deployment, replaced whenever a trigger input changes.
fn deployment(scope: &mut Scope<'_>, rest_api: &Address, routes: Routes) -> Address {
    let mut dep = scope
        .unnamed("aws_api_gateway_deployment", "payments")
        .set("rest_api_id", rest_api.attr("id"))
        .set(
            "description",
            "Replaced (create before destroy) whenever a route changes",
        )
        .set(
            "triggers",
            object([(
                "redeployment",
                call(
                    "sha1",
                    vec![call("jsonencode", vec![list(routes.triggers)])],
                ),
            )]),
        )
        .lifecycle(Lifecycle {
            create_before_destroy: true,
            ..Lifecycle::default()
        });
    for i in &routes.integrations {
        dep = dep.depends_on(i);
    }
    scope.add(dep)
}

/// Per-region account setting (the role API Gateway logs with) and the
/// access log group.
fn logging(scope: &mut Scope<'_>, env: &Env, app_key: &Address) -> Logging {
    let logs_role = scope
        .named(
            "aws_iam_role",
            "apigw_logs",
            &Name::of(NameKind::ApiGatewayLogsRole),
        )
        .set(
            "description",
            "Lets API Gateway write execution and access logs in this region",
        )
        .set(
            "assume_role_policy",
            assume_role("apigateway.amazonaws.com", None),
        );
    let logs_role = scope.add(logs_role);
    attach(
        scope,
        "apigw_logs",
        &logs_role,
        "service-role/AmazonAPIGatewayPushToCloudWatchLogs",
        env,
    );
    let account = scope
        .unnamed("aws_api_gateway_account", "this")
        .set("cloudwatch_role_arn", logs_role.attr("arn"));
    let account = scope.add(account);

    let log_group = super::log_group(
        scope,
        "api_access",
        &Name::of(NameKind::ApiLogGroup),
        app_key,
    );
    Logging { account, log_group }
}

/// The stage serving the routes, with access logs, tracing, metrics and
/// stage-wide throttling.
fn stage(
    scope: &mut Scope<'_>,
    rest_api: &Address,
    deployment: &Address,
    logging: &Logging,
) -> Address {
    logged_stage(
        scope,
        StageOf {
            local: "live",
            settings_local: "all",
            name: Name::of(NameKind::ApiStage),
            count: None,
            api_id: rest_api.attr("id"),
            deployment_id: deployment.attr("id"),
        },
        logging,
    )
}

/// What differs between the payment stage and the health-only stage.
struct StageOf {
    local: &'static str,
    settings_local: &'static str,
    name: Name,
    /// `Some` for a conditional stage (`count`).
    count: Option<Expr>,
    api_id: Expr,
    deployment_id: Expr,
}

/// A stage with access logs, X-Ray and its method settings (metrics, error
/// logs, throttling).
fn logged_stage(scope: &mut Scope<'_>, of: StageOf, logging: &Logging) -> Address {
    let mut st = scope.named("aws_api_gateway_stage", of.local, &of.name);
    let mut ms = scope.unnamed("aws_api_gateway_method_settings", of.settings_local);
    if let Some(n) = &of.count {
        st = st.count(n.clone());
        ms = ms.count(n.clone());
    }
    let st = st
        .set("rest_api_id", of.api_id.clone())
        .set("deployment_id", of.deployment_id)
        .set("stage_name", STAGE)
        .set("xray_tracing_enabled", true)
        .block(
            "access_log_settings",
            Body::new()
                .set("destination_arn", logging.log_group.attr("arn"))
                .set("format", access_format_of()),
        )
        .depends_on(&logging.account);
    let stage = scope.add(st);
    let stage_name = match of.count {
        Some(_) => first(&stage, "stage_name"),
        None => stage.attr("stage_name"),
    };
    let ms = ms
        .set("rest_api_id", of.api_id)
        .set("stage_name", stage_name)
        .set("method_path", "*/*")
        .block(
            "settings",
            Body::new()
                .set("metrics_enabled", true)
                .set("logging_level", "ERROR")
                .set("data_trace_enabled", false)
                .set("throttling_rate_limit", Expr::Int(THROTTLE_RATE))
                .set("throttling_burst_limit", Expr::Int(THROTTLE_BURST)),
        );
    scope.add(ms);
    stage
}

fn access_format_of() -> Expr {
    call(
        "jsonencode",
        vec![object([
            ("requestId", Expr::from("$context.requestId")),
            ("ip", Expr::from("$context.identity.sourceIp")),
            ("requestTime", Expr::from("$context.requestTime")),
            ("httpMethod", Expr::from("$context.httpMethod")),
            ("resourcePath", Expr::from("$context.resourcePath")),
            ("status", Expr::from("$context.status")),
            ("responseLength", Expr::from("$context.responseLength")),
            (
                "integrationLatency",
                Expr::from("$context.integrationLatency"),
            ),
        ])],
    )
}

fn first(a: &Address, attr: &str) -> Expr {
    a.reference().index(0).attr(attr).expr()
}

/// The health-only REST API, created when the execute-api endpoint of the
/// payment API is disabled (mutual TLS on the custom domain): Route 53
/// health checkers cannot present a client certificate, so they reach
/// `GET /health` through a second, certificate-free custom domain
/// (modules/global) mapped to this API, which has no other route. The
/// payment routes are not reachable through it at all.
fn health_api(
    scope: &mut Scope<'_>,
    lambda: &Lambda,
    logging: &Logging,
    acl: &Address,
    inputs: &ApiInputs,
) -> (Address, Address) {
    let count = Expr::Cond(
        Box::new(inputs.disable_execute_api_endpoint.clone()),
        Box::new(Expr::Int(1)),
        Box::new(Expr::Int(0)),
    );
    let route = health_route(scope, lambda, &count);
    let deployment = health_deployment(scope, lambda, &route, &count);
    let stage = health_stage(scope, &route.api, &deployment, logging, &count);
    let assoc = scope
        .unnamed("aws_wafv2_web_acl_association", "health")
        .count(count)
        .set("resource_arn", first(&stage, "arn"))
        .set("web_acl_arn", acl.attr("arn"));
    scope.add(assoc);
    (route.api, stage)
}

/// The health-only API's single route, open to anyone.
struct HealthRoute {
    api: Address,
    resource: Address,
    method: Address,
    integration: Address,
    /// The route's execute-api ARN (permission and resource policy).
    arn: Expr,
}

/// The health-only API and its `GET /health` route to the function.
fn health_route(scope: &mut Scope<'_>, lambda: &Lambda, count: &Expr) -> HealthRoute {
    let (method_verb, path) = OPEN_ROUTE;
    let part = path.trim_start_matches('/');
    let api = scope
        .named(
            "aws_api_gateway_rest_api",
            "health",
            &Name::qualified(NameKind::RestApi, "health"),
        )
        .count(count.clone())
        .set(
            "description",
            "GET /health only, for Route 53 health checks (the payment API requires client certificates)",
        )
        .block(
            "endpoint_configuration",
            Body::new().set("types", list([Expr::from("REGIONAL")])),
        )
        // Reached only through its health custom domain.
        .set("disable_execute_api_endpoint", true)
        .lifecycle(Lifecycle {
            create_before_destroy: true,
            ..Lifecycle::default()
        });
    let api = scope.add(api);
    let api_id = first(&api, "id");
    let r = scope
        .unnamed("aws_api_gateway_resource", "health_only")
        .count(count.clone())
        .set("rest_api_id", api_id.clone())
        .set("parent_id", first(&api, "root_resource_id"))
        .set("path_part", part);
    let resource = scope.add(r);
    let v = scope
        .named(
            "aws_api_gateway_request_validator",
            "health",
            &Name::qualified(NameKind::RequestValidator, "health"),
        )
        .count(count.clone())
        .set("rest_api_id", api_id.clone())
        .set("validate_request_parameters", true)
        .set("validate_request_body", false);
    let validator = scope.add(v);
    let m = scope
        .unnamed("aws_api_gateway_method", "health_only")
        .count(count.clone())
        .set("request_validator_id", first(&validator, "id"))
        .set("rest_api_id", api_id.clone())
        .set("resource_id", first(&resource, "id"))
        .set("http_method", method_verb)
        .set("authorization", "NONE");
    let method = scope.add(m);
    let i = scope
        .unnamed("aws_api_gateway_integration", "health_only")
        .count(count.clone())
        .set("rest_api_id", api_id)
        .set("resource_id", first(&resource, "id"))
        .set("http_method", first(&method, "http_method"))
        .set("type", "AWS_PROXY")
        .set("integration_http_method", "POST")
        .set("uri", lambda.function.attr("invoke_arn"));
    let integration = scope.add(i);
    let arn = tpl(vec![
        interp(first(&api, "execution_arn")),
        lit(&format!("/*/{method_verb}/{part}")),
    ]);
    let p = scope
        .unnamed("aws_lambda_permission", "health_only")
        .count(count.clone())
        .set("statement_id", "AllowApiGateway-health-only")
        .set("action", "lambda:InvokeFunction")
        .set("function_name", lambda.function.attr("function_name"))
        .set("principal", "apigateway.amazonaws.com")
        .set("source_arn", arn.clone());
    scope.add(p);
    HealthRoute {
        api,
        resource,
        method,
        integration,
        arn,
    }
}

/// The health-only API's open resource policy and its deployment,
/// replaced whenever the route or the policy changes.
fn health_deployment(
    scope: &mut Scope<'_>,
    lambda: &Lambda,
    route: &HealthRoute,
    count: &Expr,
) -> Address {
    let api_id = first(&route.api, "id");
    let doc = call(
        "jsonencode",
        vec![object([
            ("Version", Expr::from("2012-10-17")),
            (
                "Statement",
                list([object([
                    ("Sid", Expr::from("AllowHealthToAnyone")),
                    ("Effect", Expr::from("Allow")),
                    ("Principal", Expr::from("*")),
                    ("Action", Expr::from("execute-api:Invoke")),
                    ("Resource", list([route.arn.clone()])),
                ])]),
            ),
        ])],
    );
    let pol = scope
        .unnamed("aws_api_gateway_rest_api_policy", "health")
        .count(count.clone())
        .set("rest_api_id", api_id.clone())
        .set("policy", doc);
    let pol = scope.add(pol);
    let dep = scope
        .unnamed("aws_api_gateway_deployment", "health")
        .count(count.clone())
        .set("rest_api_id", api_id)
        .set(
            "description",
            "Replaced (create before destroy) whenever the health route changes",
        )
        .set(
            "triggers",
            object([(
                "redeployment",
                call(
                    "sha1",
                    vec![call(
                        "jsonencode",
                        vec![list([
                            first(&route.resource, "id"),
                            first(&route.method, "id"),
                            first(&route.integration, "id"),
                            lambda.function.attr("invoke_arn"),
                            first(&pol, "policy"),
                        ])],
                    )],
                ),
            )]),
        )
        .lifecycle(Lifecycle {
            create_before_destroy: true,
            ..Lifecycle::default()
        })
        .depends_on(&route.integration);
    scope.add(dep)
}

/// The health-only API's stage, logged and throttled like the payment
/// API's.
fn health_stage(
    scope: &mut Scope<'_>,
    api: &Address,
    deployment: &Address,
    logging: &Logging,
    count: &Expr,
) -> Address {
    logged_stage(
        scope,
        StageOf {
            local: "health",
            settings_local: "health",
            name: Name::qualified(NameKind::ApiStage, "health"),
            count: Some(count.clone()),
            api_id: first(api, "id"),
            deployment_id: first(deployment, "id"),
        },
        logging,
    )
}

/// `AWS_IAM` for every route but the open health route.
pub fn authorization(route: &Route) -> &'static str {
    if (route.method, route.path) == OPEN_ROUTE {
        "NONE"
    } else {
        "AWS_IAM"
    }
}

/// The resource policy: the listed principals may invoke the payment
/// routes, everyone else is denied them explicitly; anyone may invoke
/// GET /health (a resource policy denies what it does not allow to
/// unauthenticated callers).
fn resource_policy(scope: &mut Scope<'_>, rest_api: &Address, inputs: &ApiInputs) -> Address {
    let route_arn = |r: &Route| {
        tpl(vec![
            interp(rest_api.attr("execution_arn")),
            lit(&format!("/*/{}/{}", r.method, r.arn_path)),
        ])
    };
    let protected: Vec<Expr> = ROUTES
        .iter()
        .filter(|r| authorization(r) != "NONE")
        .map(route_arn)
        .collect();
    let open: Vec<Expr> = ROUTES
        .iter()
        .filter(|r| authorization(r) == "NONE")
        .map(route_arn)
        .collect();
    // aws:PrincipalArn of an account's principals: arn:aws:iam::ACCOUNT:*;
    // role and user ARNs as listed (a role session's PrincipalArn is its role).
    let p = Ref::new(Root::Iter("p".into())).expr();
    let principal_arns = Expr::ForList {
        var: "p".into(),
        coll: Box::new(inputs.allowed_principals.clone()),
        body: Box::new(Expr::Cond(
            Box::new(call(
                "can",
                vec![call("regex", vec![Expr::from("^[0-9]{12}$"), p.clone()])],
            )),
            Box::new(tpl(vec![
                lit("arn:aws:iam::"),
                interp(p.clone()),
                lit(":*"),
            ])),
            Box::new(p),
        )),
    };
    let statement = |sid: &str, effect: &str, principal: Expr, resources: Vec<Expr>| {
        vec![
            ("Sid", Expr::from(sid)),
            ("Effect", Expr::from(effect)),
            ("Principal", principal),
            ("Action", Expr::from("execute-api:Invoke")),
            ("Resource", list(resources)),
        ]
    };
    let allow = object(statement(
        "AllowListedCallers",
        "Allow",
        object([("AWS", inputs.allowed_principals.clone())]),
        protected.clone(),
    ));
    let mut deny = statement("DenyEveryoneElse", "Deny", Expr::from("*"), protected);
    deny.push((
        "Condition",
        object([("ArnNotLike", object([("aws:PrincipalArn", principal_arns)]))]),
    ));
    let health = object(statement(
        "AllowHealthToAnyone",
        "Allow",
        Expr::from("*"),
        open,
    ));
    let doc = call(
        "jsonencode",
        vec![object([
            ("Version", Expr::from("2012-10-17")),
            ("Statement", list([allow, object(deny), health])),
        ])],
    );
    let d = scope
        .unnamed("aws_api_gateway_rest_api_policy", "payments")
        .set("rest_api_id", rest_api.attr("id"))
        .set("policy", doc);
    scope.add(d)
}

/// The regional web ACL of the stage: AWS managed common and known-bad-
/// inputs rule sets, a rate-based rule per source IP, logs to an
/// `aws-waf-logs-` log group encrypted with the application key.
fn web_acl(
    scope: &mut Scope<'_>,
    stage: &Address,
    app_key: &Address,
    inputs: &ApiInputs,
) -> Address {
    let acl_name = scope.name_expr(&Name::of(NameKind::WebAcl));
    let visibility = |metric: Expr| {
        Body::new()
            .set("cloudwatch_metrics_enabled", true)
            .set("metric_name", metric)
            .set("sampled_requests_enabled", true)
    };
    let metric = |what: &str| {
        let mut parts = vec![lit(&format!("{what}-"))];
        if let Expr::Template(p) = &acl_name {
            parts.extend(p.iter().cloned());
        }
        tpl(parts)
    };
    let mut acl = scope
        .named("aws_wafv2_web_acl", "payments", &Name::of(NameKind::WebAcl))
        .set(
            "description",
            "Payment API stage: AWS managed rules and a rate limit per source IP",
        )
        .set("scope", "REGIONAL")
        .block("default_action", Body::new().block("allow", Body::new()))
        .block("visibility_config", visibility(acl_name.clone()));
    let mut priority = 0;
    for (group, count_only) in WAF_MANAGED_RULE_GROUPS {
        priority += 1;
        let mut statement = Body::new().set("name", *group).set("vendor_name", "AWS");
        for rule in *count_only {
            statement = statement.block(
                "rule_action_override",
                Body::new()
                    .set("name", *rule)
                    .block("action_to_use", Body::new().block("count", Body::new())),
            );
        }
        acl = acl.block(
            "rule",
            Body::new()
                .set("name", *group)
                .set("priority", Expr::Int(priority))
                .block("override_action", Body::new().block("none", Body::new()))
                .block(
                    "statement",
                    Body::new().block("managed_rule_group_statement", statement),
                )
                .block("visibility_config", visibility(metric(group))),
        );
    }
    acl = acl.block(
        "rule",
        Body::new()
            .set("name", "RateLimitPerSourceIp")
            .set("priority", Expr::Int(priority + 1))
            .block("action", Body::new().block("block", Body::new()))
            .block(
                "statement",
                Body::new().block(
                    "rate_based_statement",
                    Body::new()
                        .set("limit", inputs.rate_limit.clone())
                        .set("aggregate_key_type", "IP"),
                ),
            )
            .block(
                "visibility_config",
                visibility(metric("RateLimitPerSourceIp")),
            ),
    );
    let acl = scope.add(acl);
    let assoc = scope
        .unnamed("aws_wafv2_web_acl_association", "stage")
        .set("resource_arn", stage.attr("arn"))
        .set("web_acl_arn", acl.attr("arn"));
    scope.add(assoc);
    let logs = super::log_group(scope, "waf", &Name::of(NameKind::WafLogGroup), app_key);
    let lc = scope
        .unnamed("aws_wafv2_web_acl_logging_configuration", "payments")
        .set("resource_arn", acl.attr("arn"))
        .set("log_destination_configs", list([logs.attr("arn")]));
    scope.add(lc);
    acl
}
