//! The X-Ray daemon's YAML configuration file (`-c`): its keys, and every key it does not
//! have reported with its path.

use std::path::Path;

use serde::Deserialize;

use super::ConfigError;

/// The daemon's configuration file, every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct FileConfig {
    #[serde(rename = "TotalBufferSizeMB")]
    pub(super) total_buffer_size_mb: Option<u64>,
    pub(super) concurrency: Option<usize>,
    pub(super) region: Option<String>,
    pub(super) endpoint: Option<String>,
    pub(super) socket: Option<FileSocket>,
    pub(super) logging: Option<FileLogging>,
    pub(super) local_mode: Option<bool>,
    #[serde(rename = "ResourceARN")]
    pub(super) resource_arn: Option<String>,
    #[serde(rename = "RoleARN")]
    pub(super) role_arn: Option<String>,
    #[serde(rename = "NoVerifySSL")]
    pub(super) no_verify_ssl: Option<bool>,
    pub(super) proxy_address: Option<String>,
    pub(super) version: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct FileSocket {
    #[serde(rename = "UDPAddress")]
    pub(super) udp_address: Option<String>,
    #[serde(rename = "TCPAddress")]
    pub(super) tcp_address: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct FileLogging {
    pub(super) log_rotation: Option<bool>,
    pub(super) log_level: Option<String>,
    pub(super) log_path: Option<String>,
}

/// Every key the daemon's file format has, by path.
const KNOWN_KEYS: &[&str] = &[
    "TotalBufferSizeMB",
    "Concurrency",
    "Region",
    "Endpoint",
    "Socket",
    "Socket.UDPAddress",
    "Socket.TCPAddress",
    "Logging",
    "Logging.LogRotation",
    "Logging.LogLevel",
    "Logging.LogPath",
    "LocalMode",
    "ResourceARN",
    "RoleARN",
    "NoVerifySSL",
    "ProxyAddress",
    "Version",
];

/// Paths of the keys in `value` the daemon does not have.
fn unknown_keys(value: &serde_norway::Value, prefix: &str, out: &mut Vec<String>) {
    let Some(map) = value.as_mapping() else {
        return;
    };
    for (key, child) in map {
        let key = match key.as_str() {
            Some(k) => k.to_owned(),
            None => format!("{key:?}"),
        };
        let path = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        if KNOWN_KEYS.contains(&path.as_str()) {
            unknown_keys(child, &path, out);
        } else {
            out.push(path);
        }
    }
}

pub(super) fn read_file(path: &Path) -> Result<(FileConfig, Vec<String>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let parse_error = |e: serde_norway::Error| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let value: serde_norway::Value = serde_norway::from_str(&text).map_err(parse_error)?;
    if value.is_null() {
        // An empty file (or only comments): all defaults.
        return Ok((FileConfig::default(), Vec::new()));
    }
    let mut unknown = Vec::new();
    unknown_keys(&value, "", &mut unknown);
    let warnings = unknown
        .into_iter()
        .map(|k| format!("{}: unknown key {k:?} ignored", path.display()))
        .collect();
    let file = serde_norway::from_value(value).map_err(parse_error)?;
    Ok((file, warnings))
}
