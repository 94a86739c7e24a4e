//! The vendored protos are exactly the ones `proto/README.md` names: each
//! file's sha256 matches its line in the table, and every file in `proto/` is
//! listed (nothing added or edited without updating the README).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn proto_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("proto")
}

/// `| path | sha256 |` rows of the README's table.
fn listed() -> BTreeMap<String, String> {
    let readme = std::fs::read_to_string(proto_dir().join("README.md")).unwrap();
    readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
            let [file, sum] = cells.as_slice() else {
                return None;
            };
            let sum = sum.trim();
            let is_sha256 = sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit());
            is_sha256.then(|| (file.trim().to_owned(), sum.to_owned()))
        })
        .collect()
}

fn files_under(dir: &Path, root: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, root, out);
        } else {
            let relative = path.strip_prefix(root).unwrap();
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn every_vendored_file_matches_its_readme_checksum() {
    let listed = listed();
    assert!(
        listed.contains_key("opentelemetry/proto/collector/trace/v1/trace_service.proto")
            && listed.contains_key("LICENSE"),
        "README table incomplete: {listed:?}"
    );
    for (file, expected) in &listed {
        let bytes = std::fs::read(proto_dir().join(file))
            .unwrap_or_else(|e| panic!("{file} is listed in proto/README.md but unreadable: {e}"));
        let actual: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            &actual, expected,
            "{file}: sha256 differs from proto/README.md"
        );
    }
    let mut present = Vec::new();
    files_under(&proto_dir(), &proto_dir(), &mut present);
    for file in present {
        assert!(
            file == "README.md" || listed.contains_key(&file),
            "{file} is in proto/ but not in the README's checksum table"
        );
    }
}
