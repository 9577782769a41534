//! AWS API Gateway access logs written as JSON of `$context` variables, for REST and HTTP APIs.
//!
//! The keys are whatever the stage's log format names them. Accepted: the keys of AWS's
//! documented JSON templates (`requestId`, `ip`, `requestTime`, `httpMethod`, `resourcePath`,
//! `routeKey`, `status`, …), the variable's own path (`identity.sourceIp`,
//! `authorizer.claims.sub`), nested (`{"identity":{"sourceIp":…}}`) or dotted, with or
//! without a `$context.` or `context.` prefix. API Gateway writes `-` for a variable without a
//! value; such values are absent.

use crate::json_util::{
    parse_clf_ms, split_target, strip_http_prefix, walk, FlatSink, Scalar, Unfit,
};
use crate::{DecodeError, Decoder};
use apiwatch_core::{EventData, Text};

/// `event.dataset` of API Gateway events (the name Elastic's AWS integration uses).
pub const DATASET: &str = "aws.apigateway_logs";

/// Decodes API Gateway JSON access logs.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApiGatewayDecoder;

impl ApiGatewayDecoder {
    pub fn new() -> Self {
        ApiGatewayDecoder
    }
}

impl Decoder for ApiGatewayDecoder {
    fn name(&self) -> &str {
        "aws-apigw"
    }

    fn decode(&self, line: &[u8]) -> Result<EventData, DecodeError> {
        let mut sink = ApiGwSink::default();
        walk(line, &mut sink)?;
        sink.finish()
    }
}

/// The `$context` variable a key names, once its prefix and spelling variant are set aside.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Var {
    RequestId,
    ExtendedRequestId,
    SourceIp,
    Caller,
    IamUser,
    RequestTime,
    RequestTimeEpoch,
    HttpMethod,
    ResourcePath,
    RouteKey,
    Path,
    Status,
    Protocol,
    ResponseLength,
    ResponseLatency,
    IntegrationLatency,
    UserAgent,
    ClaimSub,
    ClaimUsername,
    PrincipalId,
    ApiKeyId,
    DomainName,
    Stage,
    ApiId,
}

/// The key a template gives a variable, in its documented and common spellings.
fn key_of(path: &str) -> Option<Var> {
    let path = strip_context(path);
    Some(match path {
        "requestId" => Var::RequestId,
        "extendedRequestId" => Var::ExtendedRequestId,
        "ip" | "sourceIp" | "identity.sourceIp" => Var::SourceIp,
        "caller" | "identity.caller" => Var::Caller,
        "user" | "identity.user" => Var::IamUser,
        "requestTime" => Var::RequestTime,
        "requestTimeEpoch" => Var::RequestTimeEpoch,
        "httpMethod" | "method" => Var::HttpMethod,
        "resourcePath" => Var::ResourcePath,
        "routeKey" => Var::RouteKey,
        "path" => Var::Path,
        "status" => Var::Status,
        "protocol" => Var::Protocol,
        "responseLength" => Var::ResponseLength,
        "responseLatency" => Var::ResponseLatency,
        "integrationLatency" | "integration.latency" => Var::IntegrationLatency,
        "userAgent" | "identity.userAgent" => Var::UserAgent,
        "authorizer.claims.sub" | "claims.sub" => Var::ClaimSub,
        "authorizer.claims.username"
        | "authorizer.claims.cognito:username"
        | "claims.username"
        | "claims.cognito:username" => Var::ClaimUsername,
        "authorizer.principalId" | "principalId" => Var::PrincipalId,
        "apiKeyId" | "identity.apiKeyId" => Var::ApiKeyId,
        "domainName" => Var::DomainName,
        "stage" => Var::Stage,
        "apiId" => Var::ApiId,
        _ => return None,
    })
}

fn strip_context(path: &str) -> &str {
    path.strip_prefix("$context.").or_else(|| path.strip_prefix("context.")).unwrap_or(path)
}

/// Objects walked into: the `$context` variable groups.
fn is_parent(path: &str) -> bool {
    matches!(
        strip_context(path),
        "$context"
            | "context"
            | "identity"
            | "authorizer"
            | "authorizer.claims"
            | "claims"
            | "integration"
    )
}

/// The name a key's value is reported under in errors.
fn place(key: Var) -> &'static str {
    match key {
        Var::RequestId => "requestId",
        Var::ExtendedRequestId => "extendedRequestId",
        Var::SourceIp => "identity.sourceIp",
        Var::Caller => "identity.caller",
        Var::IamUser => "identity.user",
        Var::RequestTime => "requestTime",
        Var::RequestTimeEpoch => "requestTimeEpoch",
        Var::HttpMethod => "httpMethod",
        Var::ResourcePath => "resourcePath",
        Var::RouteKey => "routeKey",
        Var::Path => "path",
        Var::Status => "status",
        Var::Protocol => "protocol",
        Var::ResponseLength => "responseLength",
        Var::ResponseLatency => "responseLatency",
        Var::IntegrationLatency => "integrationLatency",
        Var::UserAgent => "identity.userAgent",
        Var::ClaimSub => "authorizer.claims.sub",
        Var::ClaimUsername => "authorizer.claims.username",
        Var::PrincipalId => "authorizer.principalId",
        Var::ApiKeyId => "identity.apiKeyId",
        Var::DomainName => "domainName",
        Var::Stage => "stage",
        Var::ApiId => "apiId",
    }
}

#[derive(Default)]
struct ApiGwSink {
    ev: EventData,
    request_id: Option<String>,
    extended_request_id: Option<String>,
    caller: Option<String>,
    time_clf_ms: Option<i64>,
    time_epoch_ms: Option<i64>,
    resource_path: Option<String>,
    route_key: Option<String>,
    integration_latency_ms: Option<String>,
    claim_sub: Option<String>,
    principal_id: Option<String>,
    iam_user: Option<String>,
    stage: Option<String>,
    api_id: Option<String>,
}

impl<'de> FlatSink<'de> for ApiGwSink {
    fn wants(&self, path: &str) -> bool {
        is_parent(path) || key_of(path).is_some()
    }

    fn descends(&self, path: &str) -> bool {
        is_parent(path)
    }

    fn leaf(&mut self, path: &str, value: Scalar<'de>) -> Result<(), DecodeError> {
        let Some(key) = key_of(path) else { return Ok(()) };
        let bad = |reason: Unfit| DecodeError::field(place(key), reason);
        let text = |v: Scalar<'de>| v.into_single_text::<Text>().map_err(bad);
        let ev = &mut self.ev;
        match key {
            Var::RequestId => self.request_id = text(value)?.map(Into::into),
            Var::ExtendedRequestId => self.extended_request_id = text(value)?.map(Into::into),
            Var::SourceIp => ev.source_ip = value.to_ip().map_err(bad)?,
            Var::Caller => self.caller = text(value)?.map(Into::into),
            Var::IamUser => self.iam_user = text(value)?.map(Into::into),
            Var::RequestTime => {
                self.time_clf_ms =
                    match text(value)? {
                        Some(t) => Some(parse_clf_ms(&t).ok_or_else(|| {
                            bad("expected a time like 09/Apr/2015:12:34:56 +0000")
                        })?),
                        None => None,
                    }
            }
            Var::RequestTimeEpoch => {
                self.time_epoch_ms = match value.to_u64().map_err(bad)? {
                    Some(ms) => Some(i64::try_from(ms).map_err(|_| bad("time out of range"))?),
                    None => None,
                }
            }
            Var::HttpMethod => ev.http_method = text(value)?,
            Var::ResourcePath => self.resource_path = text(value)?.map(Into::into),
            Var::RouteKey => self.route_key = text(value)?.map(Into::into),
            Var::Path => {
                if let Some(p) = text(value)? {
                    // $context.path has no query; split defensively in case a template logs
                    // the full request target under the same key.
                    let (path, query) = split_target(&p);
                    ev.url_query = query.map(Into::into);
                    ev.url_path = Some(path.to_owned().into());
                }
            }
            Var::Status => {
                ev.status_code = value.to_u16("status code out of range").map_err(bad)?
            }
            Var::Protocol => ev.http_version = text(value)?.map(strip_http_prefix),
            Var::ResponseLength => ev.response_bytes = value.to_u64().map_err(bad)?,
            Var::ResponseLatency => {
                ev.duration_ns = match value.to_f64().map_err(bad)? {
                    Some(ms) if (0.0..1.8e13).contains(&ms) => Some((ms * 1e6) as u64),
                    Some(_) => return Err(bad("latency out of range")),
                    None => None,
                }
            }
            Var::IntegrationLatency => self.integration_latency_ms = text(value)?.map(Into::into),
            Var::UserAgent => ev.user_agent = text(value)?,
            Var::ClaimSub => self.claim_sub = text(value)?.map(Into::into),
            Var::ClaimUsername => ev.user_name = text(value)?,
            Var::PrincipalId => self.principal_id = text(value)?.map(Into::into),
            // The id of the key (`$context.identity.apiKeyId`), never the key itself
            // (`$context.identity.apiKey`, which is not read).
            Var::ApiKeyId => ev.api_key_id = text(value)?,
            Var::DomainName => ev.url_domain = text(value)?,
            Var::Stage => self.stage = text(value)?.map(Into::into),
            Var::ApiId => self.api_id = text(value)?.map(Into::into),
        }
        Ok(())
    }
}

impl ApiGwSink {
    fn finish(self) -> Result<EventData, DecodeError> {
        // Detection tries every decoder: every documented template logs a request id (AWS
        // requires one of the two) and the method or the route key.
        if self.request_id.is_none() && self.extended_request_id.is_none() {
            return Err(DecodeError::field("requestId", "missing: not an API Gateway log"));
        }
        let mut ev = self.ev;
        let (route_method, route) = match self.route_key.as_deref().map(split_route_key) {
            Some((m, r)) => (m.map(str::to_owned), r.map(str::to_owned)),
            None => (None, None),
        };
        if ev.http_method.is_none() {
            if self.route_key.is_none() {
                return Err(DecodeError::field("httpMethod", "missing: not an API Gateway log"));
            }
            ev.http_method = route_method.map(Into::into);
        }
        ev.timestamp_ms = match self.time_epoch_ms.or(self.time_clf_ms) {
            Some(t) => t,
            None => return Err(DecodeError::field("requestTime", "missing")),
        };
        ev.dataset = DATASET;
        // resourcePath (REST) and routeKey (HTTP) are both the route template.
        ev.http_route = self.resource_path.or(route).map(Into::into);
        // Who the caller is, best first: the JWT or Cognito subject, a Lambda authorizer's
        // principal, then the IAM user of a signed request.
        ev.user_id = self.claim_sub.or(self.principal_id).or(self.iam_user).map(Into::into);
        let labels = [
            ("apigw.request_id", self.request_id),
            ("apigw.extended_request_id", self.extended_request_id),
            ("apigw.api_id", self.api_id),
            ("apigw.stage", self.stage),
            ("apigw.caller", self.caller),
            ("apigw.integration_latency_ms", self.integration_latency_ms),
        ];
        for (name, value) in labels {
            if let Some(v) = value {
                ev.labels.push((name.to_owned(), v));
            }
        }
        Ok(ev)
    }
}

/// `GET /pets/{petId}` → (method, route); `ANY /x` names no method; `$default` no route.
fn split_route_key(key: &str) -> (Option<&str>, Option<&str>) {
    match key.split_once(' ') {
        Some((method, route)) => {
            let method = (method != "ANY" && !method.is_empty()).then_some(method);
            let route = route.trim();
            (method, (!route.is_empty()).then_some(route))
        }
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(line: &str) -> Result<EventData, DecodeError> {
        ApiGatewayDecoder::new().decode(line.as_bytes())
    }

    #[test]
    fn the_rest_api_template_decodes() {
        let ev = decode(
            r#"{ "requestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "ip": "192.0.2.10", "caller":"-", "user":"-","requestTime":"09/Apr/2015:12:34:56 +0000", "httpMethod":"GET","resourcePath":"/pets/{petId}", "status":"200","protocol":"HTTP/1.1", "responseLength":"37" }"#,
        )
        .unwrap();
        assert_eq!(ev.dataset, DATASET);
        assert_eq!(ev.source_ip, Some("192.0.2.10".parse().unwrap()));
        assert_eq!(ev.http_method.as_deref(), Some("GET"));
        assert_eq!(ev.http_route.as_deref(), Some("/pets/{petId}"));
        assert_eq!(ev.status_code, Some(200));
        assert_eq!(ev.http_version.as_deref(), Some("1.1"));
        assert_eq!(ev.response_bytes, Some(37));
        assert_eq!(ev.user_id, None);
        assert_eq!(ev.label("apigw.caller"), None);
        assert_eq!(ev.label("apigw.request_id"), Some("c6af9ac6-7b61-11e6-9a41-93e8deadbeef"));
    }

    #[test]
    fn the_http_api_template_decodes_with_its_route_key() {
        let ev = decode(
            r#"{"requestId":"id1","ip":"198.51.100.1","requestTime":"09/Apr/2015:12:34:56 +0000","requestTimeEpoch":1428582896123,"httpMethod":"GET","routeKey":"GET /pets/{petId}","status":404,"protocol":"HTTP/1.1","responseLength":"0"}"#,
        )
        .unwrap();
        assert_eq!(ev.http_route.as_deref(), Some("/pets/{petId}"));
        assert_eq!(ev.timestamp_ms, 1_428_582_896_123);
        assert_eq!(ev.status_code, Some(404));
        let ev = decode(r#"{"requestId":"id2","requestTime":"09/Apr/2015:12:34:56 +0000","routeKey":"POST /login"}"#)
            .unwrap();
        assert_eq!(ev.http_method.as_deref(), Some("POST"));
        let ev = decode(r#"{"requestId":"id3","requestTimeEpoch":"1428582896000","routeKey":"$default","httpMethod":"PUT"}"#)
            .unwrap();
        assert_eq!(ev.http_route, None);
    }

    #[test]
    fn context_paths_nested_and_prefixed_keys_are_accepted() {
        let ev = decode(
            r#"{"$context.requestId":"r","context.identity.sourceIp":"2001:db8::1","identity":{"userAgent":"curl/8","apiKeyId":"abc123"},"authorizer":{"principalId":"p-1","claims":{"sub":"u-9","cognito:username":"bob"}},"httpMethod":"DELETE","requestTimeEpoch":1,"domainName":"api.example.com","stage":"prod","responseLatency":"25"}"#,
        )
        .unwrap();
        assert_eq!(ev.source_ip, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(ev.user_agent.as_deref(), Some("curl/8"));
        assert_eq!(ev.api_key_id.as_deref(), Some("abc123"));
        assert_eq!(ev.user_id.as_deref(), Some("u-9"));
        assert_eq!(ev.user_name.as_deref(), Some("bob"));
        assert_eq!(ev.url_domain.as_deref(), Some("api.example.com"));
        assert_eq!(ev.label("apigw.stage"), Some("prod"));
        assert_eq!(ev.duration_ns, Some(25_000_000));
    }

    #[test]
    fn non_gateway_json_is_refused() {
        assert_eq!(
            decode(r#"{"httpMethod":"GET","requestTimeEpoch":1}"#).unwrap_err().field,
            "requestId"
        );
        assert_eq!(
            decode(r#"{"requestId":"r","requestTimeEpoch":1}"#).unwrap_err().field,
            "httpMethod"
        );
        assert_eq!(
            decode(r#"{"requestId":"r","httpMethod":"GET"}"#).unwrap_err().field,
            "requestTime"
        );
        assert!(
            decode(r#"{"@timestamp":"2024-01-01T00:00:00Z","request":{"method":"GET"}}"#).is_err()
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = decode(r#"{"requestId":"r","httpMethod":"GET","requestTime":"yesterday"}"#)
            .unwrap_err();
        assert_eq!(e.field, "requestTime");
        let e =
            decode(r#"{"requestId":"r","httpMethod":"GET","requestTimeEpoch":1,"status":"abc"}"#)
                .unwrap_err();
        assert_eq!(e.field, "status");
    }
}
