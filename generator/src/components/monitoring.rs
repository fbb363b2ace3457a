//! One dashboard over both regions (pitfall 33: every widget names its
//! region) and alarms in each region to that region's topic.

use crate::model::expr::{call, list, object, Expr};
use crate::model::Address;
use crate::policy::naming::{Name, NameKind};
use crate::policy::Scope;

/// Alarm thresholds.
pub const AURORA_LAG_MS: i64 = 1000;
pub const DYNAMODB_LAG_MS: i64 = 1000;
pub const ERRORS_PER_5_MIN: i64 = 5;

/// One region's resources, as the regional layers output them.
#[derive(Debug, Clone)]
pub struct RegionView {
    pub key: &'static str,
    pub region: Expr,
    pub other_region: Expr,
    pub api_name: Expr,
    pub stage_name: Expr,
    pub function_name: Expr,
    pub cluster_id: Expr,
    pub bucket_name: Expr,
    pub topic_arn: Expr,
}

fn metric(ns: &str, name: &str, dims: Vec<(&str, Expr)>) -> Expr {
    let mut v = vec![Expr::from(ns), Expr::from(name)];
    for (k, val) in dims {
        v.push(Expr::from(k));
        v.push(val);
    }
    list(v)
}

fn widget(title: String, region: &Expr, metrics: Vec<Expr>, stat: &str, x: i64, y: i64) -> Expr {
    object([
        ("type", Expr::from("metric")),
        ("x", Expr::Int(x)),
        ("y", Expr::Int(y)),
        ("width", Expr::Int(8)),
        ("height", Expr::Int(6)),
        (
            "properties",
            object([
                ("title", Expr::from(title)),
                ("region", region.clone()),
                ("stat", Expr::from(stat)),
                ("period", Expr::Int(60)),
                ("view", Expr::from("timeSeries")),
                ("metrics", list(metrics)),
            ]),
        ),
    ])
}

/// The dashboard: per region, API, Lambda, Aurora, DynamoDB, S3; plus the
/// Route 53 health checks (us-east-1 metrics).
pub fn dashboard(
    scope: &mut Scope<'_>,
    table: &Address,
    views: &[RegionView],
    health: &[(&'static str, Address)],
    route53_region: &Expr,
    replication_rule: &str,
) -> Address {
    let mut widgets = Vec::new();
    for (i, v) in views.iter().enumerate() {
        let x = i64::try_from(i).unwrap_or(0) * 8;
        let k = v.key;
        let api = |m: &str| {
            metric(
                "AWS/ApiGateway",
                m,
                vec![
                    ("ApiName", v.api_name.clone()),
                    ("Stage", v.stage_name.clone()),
                ],
            )
        };
        widgets.push(widget(
            format!("{k}: API count, 5XX"),
            &v.region,
            vec![api("Count"), api("5XXError")],
            "Sum",
            x,
            0,
        ));
        widgets.push(widget(
            format!("{k}: API latency p99"),
            &v.region,
            vec![api("Latency")],
            "p99",
            x,
            6,
        ));
        let fun = |m: &str| {
            metric(
                "AWS/Lambda",
                m,
                vec![("FunctionName", v.function_name.clone())],
            )
        };
        widgets.push(widget(
            format!("{k}: Lambda invocations, errors, throttles"),
            &v.region,
            vec![fun("Invocations"), fun("Errors"), fun("Throttles")],
            "Sum",
            x,
            12,
        ));
        widgets.push(widget(
            format!("{k}: Lambda duration p99"),
            &v.region,
            vec![fun("Duration")],
            "p99",
            x,
            18,
        ));
        let db = |m: &str| {
            metric(
                "AWS/RDS",
                m,
                vec![("DBClusterIdentifier", v.cluster_id.clone())],
            )
        };
        widgets.push(widget(
            format!("{k}: Aurora global replication lag (ms)"),
            &v.region,
            vec![db("AuroraGlobalDBReplicationLag")],
            "Maximum",
            x,
            24,
        ));
        widgets.push(widget(
            format!("{k}: Aurora CPU, connections"),
            &v.region,
            vec![db("CPUUtilization"), db("DatabaseConnections")],
            "Average",
            x,
            30,
        ));
        let ddb = |m: &str, dims: Vec<(&str, Expr)>| metric("AWS/DynamoDB", m, dims);
        widgets.push(widget(
            format!("{k}: DynamoDB replication latency (ms), throttles"),
            &v.region,
            vec![
                ddb(
                    "ReplicationLatency",
                    vec![
                        ("TableName", table.attr("name")),
                        ("ReceivingRegion", v.other_region.clone()),
                    ],
                ),
                ddb(
                    "ThrottledRequests",
                    vec![
                        ("TableName", table.attr("name")),
                        ("Operation", Expr::from("PutItem")),
                    ],
                ),
            ],
            "Maximum",
            x,
            36,
        ));
    }
    // S3 replication is measured on the source (primary) bucket.
    if let [p, d] = views {
        let s3 = |m: &str| {
            metric(
                "AWS/S3",
                m,
                vec![
                    ("SourceBucket", p.bucket_name.clone()),
                    ("DestinationBucket", d.bucket_name.clone()),
                    ("RuleId", Expr::from(replication_rule)),
                ],
            )
        };
        widgets.push(widget(
            "S3 replication latency, operations pending".into(),
            &p.region,
            vec![s3("ReplicationLatency"), s3("OperationsPendingReplication")],
            "Maximum",
            16,
            42,
        ));
    }
    let hc: Vec<Expr> = health
        .iter()
        .map(|(_, a)| {
            metric(
                "AWS/Route53",
                "HealthCheckStatus",
                vec![("HealthCheckId", a.attr("id"))],
            )
        })
        .collect();
    widgets.push(widget(
        "Route 53 health checks (1 = healthy)".into(),
        route53_region,
        hc,
        "Minimum",
        0,
        42,
    ));
    let d = scope
        .named(
            "aws_cloudwatch_dashboard",
            "dr",
            &Name::of(NameKind::Dashboard),
        )
        .set(
            "dashboard_body",
            call("jsonencode", vec![object([("widgets", list(widgets))])]),
        );
    scope.add(d)
}

/// Alarm settings.
#[derive(Debug, Clone)]
pub struct AlarmSpec {
    pub qualifier: String,
    pub description: String,
    pub namespace: &'static str,
    pub metric: &'static str,
    pub dims: Vec<(&'static str, Expr)>,
    pub statistic: &'static str,
    pub comparison: &'static str,
    pub threshold: i64,
    pub periods: i64,
    pub topic: Expr,
}

/// One alarm, in the scope's region.
pub fn alarm(scope: &mut Scope<'_>, local: &str, a: AlarmSpec) -> Address {
    let d = scope
        .named(
            "aws_cloudwatch_metric_alarm",
            local,
            &Name::qualified(NameKind::Alarm, &a.qualifier),
        )
        .set("alarm_description", a.description)
        .set("namespace", a.namespace)
        .set("metric_name", a.metric)
        .set("dimensions", object(a.dims))
        .set("statistic", a.statistic)
        .set("period", Expr::Int(60))
        .set("evaluation_periods", Expr::Int(a.periods))
        .set("datapoints_to_alarm", Expr::Int(a.periods.min(3)))
        .set("threshold", Expr::Int(a.threshold))
        .set("comparison_operator", a.comparison)
        .set("treat_missing_data", "notBreaching")
        .set("alarm_actions", list([a.topic.clone()]))
        .set("ok_actions", list([a.topic]));
    scope.add(d)
}

/// The regional alarms of one region: Lambda errors, API 5XX, Aurora
/// replication lag, DynamoDB replication latency.
pub fn regional_alarms(scope: &mut Scope<'_>, v: &RegionView, table: &Address) -> Vec<Address> {
    let k = v.key;
    vec![
        alarm(
            scope,
            &format!("{k}_lambda_errors"),
            AlarmSpec {
                qualifier: "lambda-errors".into(),
                description: "Payment function errors".into(),
                namespace: "AWS/Lambda",
                metric: "Errors",
                dims: vec![("FunctionName", v.function_name.clone())],
                statistic: "Sum",
                comparison: "GreaterThanOrEqualToThreshold",
                threshold: ERRORS_PER_5_MIN,
                periods: 5,
                topic: v.topic_arn.clone(),
            },
        ),
        alarm(
            scope,
            &format!("{k}_api_5xx"),
            AlarmSpec {
                qualifier: "api-5xx".into(),
                description: "Payment API 5XX responses".into(),
                namespace: "AWS/ApiGateway",
                metric: "5XXError",
                dims: vec![
                    ("ApiName", v.api_name.clone()),
                    ("Stage", v.stage_name.clone()),
                ],
                statistic: "Sum",
                comparison: "GreaterThanOrEqualToThreshold",
                threshold: ERRORS_PER_5_MIN,
                periods: 5,
                topic: v.topic_arn.clone(),
            },
        ),
        alarm(
            scope,
            &format!("{k}_aurora_lag"),
            AlarmSpec {
                qualifier: "aurora-replication-lag".into(),
                description:
                    "Aurora global replication lag above 1 s (reported by the secondary cluster)"
                        .into(),
                namespace: "AWS/RDS",
                metric: "AuroraGlobalDBReplicationLag",
                dims: vec![("DBClusterIdentifier", v.cluster_id.clone())],
                statistic: "Maximum",
                comparison: "GreaterThanThreshold",
                threshold: AURORA_LAG_MS,
                periods: 3,
                topic: v.topic_arn.clone(),
            },
        ),
        alarm(
            scope,
            &format!("{k}_dynamodb_lag"),
            AlarmSpec {
                qualifier: "dynamodb-replication-latency".into(),
                description: "DynamoDB global table replication latency above 1 s".into(),
                namespace: "AWS/DynamoDB",
                metric: "ReplicationLatency",
                dims: vec![
                    ("TableName", table.attr("name")),
                    ("ReceivingRegion", v.other_region.clone()),
                ],
                statistic: "Average",
                comparison: "GreaterThanThreshold",
                threshold: DYNAMODB_LAG_MS,
                periods: 3,
                topic: v.topic_arn.clone(),
            },
        ),
    ]
}
