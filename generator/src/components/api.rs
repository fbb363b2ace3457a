//! The regional REST API (pitfalls 21, 22, 24, 25): POST /payments,
//! GET /payments/{id} and GET /health, each an AWS_PROXY integration.

use crate::model::expr::{call, interp, list, lit, object, tpl, Expr};
use crate::model::{Address, Body, Lifecycle, Scope};
use crate::policy::naming::{Name, NameKind};

use super::compute::Lambda;
use super::{assume_role, attach, Env};

/// The stage every route is served from.
pub const STAGE: &str = "live";
/// Stage-wide throttling.
pub const THROTTLE_RATE: i64 = 500;
pub const THROTTLE_BURST: i64 = 1000;

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

/// Builds the API and its permissions.
pub fn build(scope: &mut Scope<'_>, env: &Env, lambda: &Lambda, app_key: &Address) -> Api {
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
        // A replacement API is created before the old one goes (names
        // need not be unique), so clients never see a missing API.
        .lifecycle(Lifecycle {
            create_before_destroy: true,
            ..Lifecycle::default()
        });
    let rest_api = scope.add(api);
    let api_id = rest_api.attr("id");

    let payments = scope
        .unnamed("aws_api_gateway_resource", "payments")
        .set("rest_api_id", api_id.clone())
        .set("parent_id", rest_api.attr("root_resource_id"))
        .set("path_part", "payments");
    let payments = scope.add(payments);
    let payment_id = scope
        .unnamed("aws_api_gateway_resource", "payment_id")
        .set("rest_api_id", api_id.clone())
        .set("parent_id", payments.attr("id"))
        .set("path_part", "{id}");
    let payment_id = scope.add(payment_id);
    let health = scope
        .unnamed("aws_api_gateway_resource", "health")
        .set("rest_api_id", api_id.clone())
        .set("parent_id", rest_api.attr("root_resource_id"))
        .set("path_part", "health");
    let health = scope.add(health);

    let mut trigger_parts: Vec<Expr> = vec![
        payments.attr("id"),
        payment_id.attr("id"),
        health.attr("id"),
    ];
    let mut integrations = Vec::new();
    // API Gateway checks required parameters before invoking the function:
    // the payment id path parameter and the Idempotency-Key header.
    let validator = scope
        .named(
            "aws_api_gateway_request_validator",
            "params",
            &Name::of(NameKind::RequestValidator),
        )
        .set("rest_api_id", api_id.clone())
        .set("validate_request_parameters", true)
        .set("validate_request_body", false);
    let validator = scope.add(validator);
    for route in ROUTES {
        let resource = match route.local {
            "post_payments" => &payments,
            "get_payment" => &payment_id,
            _ => &health,
        };
        let mut m = scope
            .unnamed("aws_api_gateway_method", route.local)
            .set("rest_api_id", api_id.clone())
            .set("resource_id", resource.attr("id"))
            .set("http_method", route.method)
            .set("authorization", "NONE")
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
        let method = scope.add(m);
        let i = scope
            .unnamed("aws_api_gateway_integration", route.local)
            .set("rest_api_id", api_id.clone())
            .set("resource_id", resource.attr("id"))
            .set("http_method", method.attr("http_method"))
            .set("type", "AWS_PROXY")
            .set("integration_http_method", "POST")
            .set("uri", lambda.function.attr("invoke_arn"));
        let integration = scope.add(i);
        trigger_parts.push(method.attr("id"));
        trigger_parts.push(integration.attr("id"));
        integrations.push(integration);

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
    // Also redeploy when the function's integration target changes.
    trigger_parts.push(lambda.function.attr("invoke_arn"));

    let mut dep = scope
        .unnamed("aws_api_gateway_deployment", "payments")
        .set("rest_api_id", api_id.clone())
        .set(
            "description",
            "Replaced (create before destroy) whenever a route changes",
        )
        .set(
            "triggers",
            object([(
                "redeployment",
                call("sha1", vec![call("jsonencode", vec![list(trigger_parts)])]),
            )]),
        )
        .lifecycle(Lifecycle {
            create_before_destroy: true,
            ..Lifecycle::default()
        });
    for i in &integrations {
        dep = dep.depends_on(i);
    }
    let deployment = scope.add(dep);

    // Per-region account setting: the role API Gateway logs with.
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

    let access_format = call(
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
    );
    let st = scope
        .named(
            "aws_api_gateway_stage",
            "live",
            &Name::of(NameKind::ApiStage),
        )
        .set("rest_api_id", api_id.clone())
        .set("deployment_id", deployment.attr("id"))
        .set("stage_name", STAGE)
        .set("xray_tracing_enabled", true)
        .block(
            "access_log_settings",
            Body::new()
                .set("destination_arn", log_group.attr("arn"))
                .set("format", access_format),
        )
        .depends_on(&account);
    let stage = scope.add(st);

    let ms = scope
        .unnamed("aws_api_gateway_method_settings", "all")
        .set("rest_api_id", api_id)
        .set("stage_name", stage.attr("stage_name"))
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

    Api { rest_api, stage }
}
