//! Stack-trace parsers, one case set per format.

use super::*;

fn frames(p: &Parsed<'_>) -> Vec<(String, u32, String)> {
    p.stack
        .iter()
        .map(|f| (f.label.to_string(), f.line, f.path.to_string()))
        .collect()
}

fn f(label: &str, line: u32, path: &str) -> (String, u32, String) {
    (label.into(), line, path.into())
}

#[test]
fn java_frames_module_prefix_native_and_cause_chain() {
    let trace = "java.lang.IllegalStateException: state is bad\n\
        \tat java.base/com.example.Store.load(Store.java:42)\n\
        \tat com.example.Main.run(Native Method)\n\
        \tat com.example.Main.main(Main.java:)\n\
        \tat com.example.Broken.frame(Broken.java:3\n\
        \t... 7 more\n\
        Caused by: java.io.IOException: disk gone\n\
        and really gone\n\
        \tat com.example.Disk.read(Disk.java:7)\n\
        \tSuppressed: java.lang.Error: hidden\n\
        \t\tat com.example.Hidden.x(Hidden.java:1)\n\
        Caused by: java.lang.NullPointerException\n";
    let out = parse_stack("java", trace);
    assert_eq!(out.len(), 3);
    assert_eq!(
        frames(&out[0]),
        vec![
            f("com.example.Store.load", 42, "Store.java"),
            f("com.example.Main.run", 0, "Native Method"),
            f("com.example.Main.main", 0, "Main.java"),
        ]
    );
    assert_eq!(out[1].kind.as_deref(), Some("java.io.IOException"));
    assert_eq!(
        out[1].message.as_deref(),
        Some("disk gone\nand really gone")
    );
    assert_eq!(
        frames(&out[1]),
        vec![f("com.example.Disk.read", 7, "Disk.java")]
    );
    assert_eq!(
        out[2].kind.as_deref(),
        Some("java.lang.NullPointerException")
    );
    assert_eq!(out[2].message, None);
}

#[test]
fn python_frames_innermost_first_and_chained_causes() {
    let trace = "Traceback (most recent call last):\n  File \"db.py\", line 3, in connect\n    raise ValueError(\"bad\\nport\")\nValueError: bad\nport\n\n\
        During handling of the above exception, another exception occurred:\n\n\
        Traceback (most recent call last):\n  File \"main.py\", line 14, in <module>\n    greet_many([\"Bob\", 1])\n  File \"greetings.py\", line 12, in greet_many\n    greet(person)\n\
        TypeError: can only concatenate str (not \"int\") to str\n";
    let out = parse_stack("python", trace);
    assert_eq!(out.len(), 2);
    assert_eq!(
        frames(&out[0]),
        vec![
            f("greet_many", 12, "greetings.py"),
            f("<module>", 14, "main.py")
        ]
    );
    assert_eq!(out[1].kind.as_deref(), Some("ValueError"));
    assert_eq!(out[1].message.as_deref(), Some("bad\nport"));
    assert_eq!(frames(&out[1]), vec![f("connect", 3, "db.py")]);
}

#[test]
fn python_malformed_file_lines_give_partial_frames() {
    let trace = "Traceback (most recent call last):\n  File \"x.py\", in f\n  File \"y.py\", line zz\nKeyError: 'k'";
    let out = parse_stack("python", trace);
    assert_eq!(frames(&out[0]), vec![f("", 0, "y.py"), f("f", 0, "x.py")]);
}

#[test]
fn javascript_frames_with_and_without_parentheses() {
    let trace = "TypeError: x is undefined\n    at Object.speedy (/app/index.js:10:5)\n    at /app/lib/a.js:20:1\n    at Array.forEach (native)\n    at broken (/app/b.js:1:1\n    at http://cdn.example.com:8080/app.js:3:9";
    let out = parse_stack("nodejs", trace);
    assert_eq!(
        frames(&out[0]),
        vec![
            f("Object.speedy", 10, "/app/index.js"),
            f("", 20, "/app/lib/a.js"),
            f("Array.forEach", 0, "native"),
            f("", 3, "http://cdn.example.com:8080/app.js"),
        ]
    );
}

#[test]
fn dotnet_frames_with_and_without_source() {
    let trace = "System.FormatException: Input string was not in a correct format.\n   at System.Number.ThrowFormatException(ReadOnlySpan`1 value)\n   at Program.Parse(String s) in C:\\src\\IntParser.cs:line 11\n   --- End of inner exception stack trace ---\n   at Broken.Frame(\n";
    let out = parse_stack("dotnet", trace);
    assert_eq!(
        frames(&out[0]),
        vec![
            f(
                "System.Number.ThrowFormatException(ReadOnlySpan`1 value)",
                0,
                ""
            ),
            f("Program.Parse(String s)", 11, "C:\\src\\IntParser.cs"),
        ]
    );
}

#[test]
fn go_goroutine_dump() {
    let trace = "panic: boom\n\ngoroutine 1 [running]:\nmain.handler(0x1)\n\t/src/app/main.go:10 +0x1d\nmain.main()\n\t/src/app/main.go:5 +0x20\n\ngoroutine 7 [chan receive]:\ncreated by net/http.(*Server).Serve\n\t/usr/local/go/src/net/http/server.go:3285 +0x4b4\n";
    let out = parse_stack("go", trace);
    assert_eq!(
        frames(&out[0]),
        vec![
            f("main.handler(0x1)", 10, "/src/app/main.go"),
            f("main.main()", 5, "/src/app/main.go"),
            f(
                "net/http.(*Server).Serve",
                3285,
                "/usr/local/go/src/net/http/server.go"
            ),
        ]
    );
}

#[test]
fn rust_panic_with_std_backtrace() {
    let trace = "thread 'main' panicked at src/main.rs:5:5:\ncalled `Option::unwrap()` on a `None` value\nstack backtrace:\n   0: rust_begin_unwind\n             at /rustc/abc/library/std/src/panicking.rs:597:5\n   1: app::handler\n             at ./src/handler.rs:42:9\n   2: app::main\n   3: core::ops::function::FnOnce::call_once\n             at /rustc/abc/library/core/src/ops/function.rs:250:5\nnote: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.";
    let out = parse_stack("rust", trace);
    assert_eq!(
        frames(&out[0]),
        vec![
            f(
                "rust_begin_unwind",
                597,
                "/rustc/abc/library/std/src/panicking.rs"
            ),
            f("app::handler", 42, "./src/handler.rs"),
            f("app::main", 0, ""),
            f(
                "core::ops::function::FnOnce::call_once",
                250,
                "/rustc/abc/library/core/src/ops/function.rs"
            ),
        ]
    );
}

#[test]
fn rust_full_backtrace_debug_form_and_panic_location_alone() {
    let full = "stack backtrace:\n   0:     0x55d7c1c4e0a3 - app::handler::h1234\n                               at ./src/lib.rs:8:1\n   1:     0x55d7c1c4e0b0 - app::main";
    assert_eq!(
        frames(&parse_stack("rust", full)[0]),
        vec![
            f("app::handler::h1234", 8, "./src/lib.rs"),
            f("app::main", 0, "")
        ]
    );
    let debug = "Backtrace [{ fn: \"app::handler\", file: \"./src/main.rs\", line: 5 }, { fn: \"std::rt::lang_start\" }]";
    assert_eq!(
        frames(&parse_stack("rust", debug)[0]),
        vec![
            f("app::handler", 5, "./src/main.rs"),
            f("std::rt::lang_start", 0, "")
        ]
    );
    let old_panic = "thread 'worker' panicked at 'index out of bounds', src/queue.rs:88:13";
    assert_eq!(
        frames(&parse_stack("rust", old_panic)[0]),
        vec![f("panic", 88, "src/queue.rs")]
    );
}

#[test]
fn rust_anyhow_caused_by_chain() {
    let trace = "failed to load config\n\nCaused by:\n    0: could not open /etc/app.toml\n    1: No such file or directory (os error 2)\n\nStack backtrace:\n   0: app::load\n             at ./src/config.rs:12:5";
    let out = parse_stack("rust", trace);
    assert_eq!(out.len(), 3);
    assert_eq!(frames(&out[0]), vec![f("app::load", 12, "./src/config.rs")]);
    assert_eq!(
        out[1].message.as_deref(),
        Some("could not open /etc/app.toml")
    );
    assert_eq!(
        out[2].message.as_deref(),
        Some("No such file or directory (os error 2)")
    );
}

#[test]
fn unknown_language_is_sniffed_and_plain_text_gives_no_stack() {
    assert_eq!(
        parse_stack("", "thread 'main' panicked at src/a.rs:1:2:\nboom")[0]
            .stack
            .len(),
        1
    );
    assert_eq!(
        parse_stack(
            "cobol",
            "Traceback (most recent call last):\n  File \"a.py\", line 1, in f\nE: x"
        )[0]
        .stack
        .len(),
        1
    );
    assert!(parse_stack("", "just a message")
        .iter()
        .all(|p| p.stack.is_empty()));
}

#[test]
fn locations_split_path_line_and_column() {
    assert_eq!(split_location("Main.java:12"), ("Main.java", 12));
    assert_eq!(split_location("src/main.rs:5:9"), ("src/main.rs", 5));
    assert_eq!(split_location("C:\\x\\y.cs:11"), ("C:\\x\\y.cs", 11));
    assert_eq!(split_location("nowhere"), ("nowhere", 0));
    assert_eq!(split_location("a:b"), ("a:b", 0));
}

#[test]
fn lines_match_str_lines() {
    for s in [
        "",
        "\n",
        "\n\n",
        "a",
        "a\n",
        "a\n\n",
        "a\r\nb",
        "a\r",
        "a\r\r\n",
        "\r\n",
        "a\nb\r\n",
        "é\n\u{2028}\r\n😀",
    ] {
        assert_eq!(
            lines(s).collect::<Vec<_>>(),
            s.lines().collect::<Vec<_>>(),
            "{s:?}"
        );
    }
}

proptest::proptest! {
    #[test]
    fn lines_match_str_lines_on_any_text(s in "[a\r\n\t é]{0,40}") {
        proptest::prop_assert_eq!(lines(&s).collect::<Vec<_>>(), s.lines().collect::<Vec<_>>());
    }
}
