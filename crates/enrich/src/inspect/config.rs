//! The inspection configuration as written (YAML or code), with its defaults. Nothing here is
//! trusted: [`super::Inspector::build`] validates it into the objects inspection runs on.

use serde::Deserialize;

/// What body inspection looks for; see [`InspectConfig::default`] for the defaults.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InspectConfig {
    /// Bytes of each body inspected at most; a longer prefix handed in is cut here and treated
    /// as truncated. 64 KiB is what the gateway captures by default.
    pub body_bytes_max: usize,
    /// Login routes and how the account and outcome are read.
    pub login: LoginConfig,
    /// Where the records of a JSON response are counted.
    pub records: RecordsConfig,
    /// Which signs of sensitive data in responses are counted.
    pub exposure: ExposureConfig,
}

impl Default for InspectConfig {
    fn default() -> Self {
        InspectConfig {
            body_bytes_max: 64 * 1024,
            login: LoginConfig::default(),
            records: RecordsConfig::default(),
            exposure: ExposureConfig::default(),
        }
    }
}

/// A method and a path pattern: `*` matches any characters (slashes included), `{name}`
/// matches one path segment; matching ignores ASCII case, the query and a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// HTTP method, or `*` for any.
    #[serde(default = "any_method")]
    pub method: String,
    /// Path pattern or route template, such as `*/login` or `/api/v1/users/{id}`.
    pub path: String,
}

fn any_method() -> String {
    "*".to_string()
}

/// Login routes, the request fields naming the account, and how a failure is recognised.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoginConfig {
    /// Requests that are login attempts.
    pub routes: Vec<RouteConfig>,
    /// Request fields holding the account name, first found wins. A plain name is looked for
    /// at the top level of a JSON body, then in nested objects; a dotted path (`a.b`) is
    /// followed exactly. Form bodies use the plain names.
    pub account_fields: Vec<String>,
    /// Fields of a 2xx JSON response that mean the login failed, such as
    /// `{field: success, equals: false}`; none by default.
    pub failure_when: Vec<FailureFieldConfig>,
    /// Request bodies longer than this are not read for an account: real login bodies are a
    /// few hundred bytes, and a longer one is not worth walking.
    pub body_bytes_max: usize,
    /// Account names are cut to this many bytes (at a character boundary).
    pub account_bytes_max: usize,
}

impl Default for LoginConfig {
    fn default() -> Self {
        let paths = [
            "*/login",
            "*/signin",
            "*/sign-in",
            "*/token",
            "*/oauth/token",
            "*/auth",
            "*/session",
            "*/sessions",
        ];
        LoginConfig {
            routes: paths
                .iter()
                .map(|p| RouteConfig { method: "POST".to_string(), path: p.to_string() })
                .collect(),
            account_fields: [
                "username",
                "user",
                "email",
                "login",
                "user_name",
                "account",
                "client_id",
            ]
            .map(String::from)
            .to_vec(),
            failure_when: Vec::new(),
            body_bytes_max: 16 * 1024,
            account_bytes_max: 256,
        }
    }
}

/// A response field whose value means the login failed despite a 2xx status.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureFieldConfig {
    /// Dotted path of the field in the JSON response.
    pub field: String,
    /// The value meaning failure: a string, number, boolean or null.
    pub equals: serde_json::Value,
}

/// Where records are counted in a JSON response.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordsConfig {
    /// Arrays tried in order when the top level is an object (dotted paths).
    pub array_paths: Vec<String>,
    /// Integer fields holding the number of records in this response, used only when no
    /// array is found. None by default: `total` and `count` often count every page.
    pub count_fields: Vec<String>,
    /// Per-route places, tried before the defaults; the first matching route is used.
    pub routes: Vec<RecordsRouteConfig>,
}

impl Default for RecordsConfig {
    fn default() -> Self {
        RecordsConfig {
            array_paths: ["data", "items", "results", "records", "hits.hits"]
                .map(String::from)
                .to_vec(),
            count_fields: Vec::new(),
            routes: Vec::new(),
        }
    }
}

/// Where one route's responses hold their records.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordsRouteConfig {
    /// HTTP method, or `*` for any.
    #[serde(default = "any_method")]
    pub method: String,
    /// Path pattern or route template, as for login routes.
    pub path: String,
    /// Dotted path of the array of records.
    #[serde(default)]
    pub array_path: Option<String>,
    /// Dotted path of an integer field counting the records in this response.
    #[serde(default)]
    pub count_field: Option<String>,
}

/// Which signs of sensitive data in response bodies are counted.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExposureConfig {
    /// Payment card numbers (Luhn-valid, known issuer prefix and length).
    pub card_numbers: bool,
    /// US social security numbers written `ddd-dd-dddd`, outside the never-issued ranges.
    pub us_ssn: bool,
    /// IBANs with the length of their country and a valid mod-97 check.
    pub iban: bool,
    /// E-mail addresses.
    pub emails: bool,
    /// Distinct e-mail addresses from which a response counts as listing many.
    pub many_emails_min: u32,
    /// Further patterns (national identity numbers), each counted under its name.
    pub national_ids: Vec<NationalIdConfig>,
}

impl Default for ExposureConfig {
    fn default() -> Self {
        ExposureConfig {
            card_numbers: true,
            us_ssn: true,
            iban: true,
            emails: true,
            many_emails_min: 20,
            national_ids: Vec::new(),
        }
    }
}

/// A named regular expression for an identity number (Rust `regex` syntax, matched on bytes).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NationalIdConfig {
    /// Name the count is reported under (letters, digits, `_`, `-`).
    pub name: String,
    /// The pattern.
    pub pattern: String,
}
