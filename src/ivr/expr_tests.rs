//! Expressions: every operator, precedence, errors with columns, types, regexes, totality.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn vars(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn eval(source: &str, values: &BTreeMap<String, Value>) -> bool {
    Expr::parse(source)
        .unwrap_or_else(|e| panic!("{source}: {e:?}"))
        .eval(&|name| values.get(name).cloned())
}

fn s(text: &str) -> Value {
    Value::Str(text.to_owned())
}

/// Example 1's declared variables plus the built-ins.
fn example_types(name: &str) -> Option<VarType> {
    let declared = match name {
        "region" | "account_tier" | "balance_due" | "order_status" | "order_eta" => VarType::String,
        "account_number" | "order_id" => VarType::Digits,
        "queue_priority" => VarType::Integer,
        "ratio" => VarType::Number,
        "vip" => VarType::Boolean,
        "due" => VarType::Date,
        other => return builtin_type(other),
    };
    Some(declared)
}

fn check(source: &str) -> Vec<String> {
    Expr::parse(source)
        .unwrap_or_else(|e| panic!("{source}: {e:?}"))
        .check(&example_types)
        .into_iter()
        .map(|e| e.message)
        .collect()
}

fn parse_error(source: &str) -> ExprError {
    Expr::parse(source).expect_err(source)
}

#[test]
fn example_1_expressions() {
    let tier = "account_tier in [\"gold\", \"platinum\"]";
    let status = "order_status == \"delayed\" or order_status == \"lost\"";
    for source in [tier, status] {
        assert!(check(source).is_empty(), "{source}");
    }
    assert!(eval(tier, &vars(&[("account_tier", s("gold"))])));
    assert!(eval(tier, &vars(&[("account_tier", s("platinum"))])));
    assert!(!eval(tier, &vars(&[("account_tier", s("standard"))])));
    assert!(!eval(tier, &vars(&[])));
    assert!(eval(status, &vars(&[("order_status", s("lost"))])));
    assert!(eval(status, &vars(&[("order_status", s("delayed"))])));
    assert!(!eval(status, &vars(&[("order_status", s("shipped"))])));
    assert_eq!(Expr::parse(tier).unwrap().names(), ["account_tier"]);
    assert_eq!(Expr::parse(status).unwrap().names(), ["order_status"]);
    assert_eq!(Expr::parse(status).unwrap().source(), status);
}

#[test]
fn variant_1o_unclosed_list_column() {
    // The column is counted inside the expression text: the ']' is missing at its end.
    let e = parse_error("account_tier in [\"gold\", \"platinum\"");
    assert_eq!(e.column, 36);
    assert_eq!(e.message, "expected ']' at column 36");
}

#[test]
fn comparison_operators() {
    let v = vars(&[
        ("n", Value::Int(5)),
        ("x", Value::Num(2.5)),
        ("t", s("gold")),
        ("b", Value::Bool(true)),
    ]);
    let cases = [
        ("n == 5", true),
        ("n == 5.0", true),
        ("n != 5", false),
        ("n != 4", true),
        ("n < 6", true),
        ("n < 5", false),
        ("n <= 5", true),
        ("n > 4", true),
        ("n > 5", false),
        ("n >= 5", true),
        ("x > 2", true),
        ("x < -1", false),
        ("n in [1, 5, 9]", true),
        ("n in []", false),
        ("t in [\"gold\"]", true),
        ("t starts_with \"go\"", true),
        ("t starts_with \"ld\"", false),
        ("t ends_with \"ld\"", true),
        ("t contains \"ol\"", true),
        ("t contains \"x\"", false),
        ("t matches \"^g.l\"", true),
        ("t matches \"^l\"", false),
        ("b", true),
        ("b == true", true),
        ("b != false", true),
        ("true", true),
        ("false", false),
        ("t == 'gold'", true),
        ("(n == 5) == true", true),
        ("\"b\" > \"a\"", true),
    ];
    for (source, expected) in cases {
        assert_eq!(eval(source, &v), expected, "{source}");
    }
}

#[test]
fn precedence_not_and_or() {
    let v = vars(&[("a", Value::Int(1)), ("b", Value::Int(2))]);
    // and binds tighter than or.
    assert!(eval("a == 1 or a == 2 and b == 3", &v));
    assert!(!eval("(a == 1 or a == 2) and b == 3", &v));
    // not binds looser than a comparison and tighter than and.
    assert!(eval("not a == 2", &v));
    assert!(!eval("not a == 1 and b == 2", &v));
    assert!(eval("not (a == 1 and b == 3)", &v));
    assert!(eval("not not a == 1", &v));
    assert!(eval("a == 2 or not b == 3", &v));
}

#[test]
fn missing_and_mismatched_values_compare_false() {
    let v = vars(&[("t", s("5")), ("nul", Value::Null)]);
    for source in [
        "missing == \"x\"",
        "missing != \"x\"",
        "missing < 3",
        "missing in [\"a\"]",
        "missing starts_with \"a\"",
        "missing matches \"\"",
        "missing",
        "nul == nul",
        "t == 5",
        "t != 5",
        "t < 9",
        "t contains 5",
    ] {
        assert!(!eval(source, &v), "{source}");
    }
    // The negation of a false comparison holds.
    assert!(eval("not missing == \"x\"", &v));
}

#[test]
fn strings_and_escapes() {
    let v = vars(&[("t", s("say \"hi\"\\")), ("d", s("123456"))]);
    assert!(eval(r#"t == "say \"hi\"\\""#, &v));
    assert!(eval(r#"t starts_with 'say "'"#, &v));
    // Unknown escapes are kept, so regexes need no doubling.
    assert!(eval(r#"d matches "^\d{6}$""#, &v));
    assert!(!eval(r#"d matches "^\d{5}$""#, &v));
}

#[test]
fn parse_errors_carry_columns() {
    let cases = [
        ("", 1, "expected a value at column 1"),
        ("x ==", 5, "expected a value at column 5"),
        ("x == == 1", 6, "expected a value at column 6, found '=='"),
        ("(x == 1", 8, "expected ')' at column 8"),
        ("x in [1 2]", 9, "expected ']' at column 9"),
        ("x == \"abc", 6, "unterminated string starting at column 6"),
        ("x = 1", 3, "unexpected '=' at column 3; compare with '=='"),
        ("x == 1 && y", 8, "unexpected '&' at column 8; write 'and'"),
        ("!x", 1, "unexpected '!' at column 1; write 'not'"),
        ("x # 1", 3, "unexpected character '#' at column 3"),
        (
            "x == 1 == 2",
            8,
            "unexpected '==' at column 8; join comparisons with 'and' or 'or'",
        ),
        ("x y", 3, "unexpected 'y' at column 3"),
        (
            "x matches y",
            11,
            "'matches' needs a regex in quotes at column 11, found 'y'",
        ),
        (
            "x == 99999999999999999999",
            6,
            "number 99999999999999999999 is too large at column 6",
        ),
        ("call. == 1", 1, "'call.' at column 1 is not a name"),
        ("x - 1", 3, "unexpected character '-' at column 3"),
    ];
    for (source, column, message) in cases {
        let e = parse_error(source);
        assert_eq!(
            (e.column, e.message.as_str()),
            (column, message),
            "{source}"
        );
    }
    // Columns count characters, not bytes.
    assert_eq!(parse_error("\"é\" == #").column, 8);
    assert!(
        parse_error("x == 1abc")
            .message
            .contains("cannot start with a digit")
    );
}

#[test]
fn names_include_builtins_once() {
    let e = Expr::parse(
        "call.did starts_with \"+1415\" and queue.position > 3 or x in [y, \"z\"] and call.did != x",
    )
    .unwrap();
    assert_eq!(e.names(), ["call.did", "queue.position", "x", "y"]);
}

#[test]
fn type_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "account_tier > 3",
            "'>' compares numbers or dates, but account_tier is string",
        ),
        (
            "queue_priority == \"high\"",
            "queue_priority is integer, got string \"high\"",
        ),
        (
            "\"high\" == queue_priority",
            "queue_priority is integer, got string \"high\"",
        ),
        (
            "queue_priority == account_tier",
            "queue_priority is integer but account_tier is string",
        ),
        (
            "order_id == 123456",
            "order_id is digits, got integer 123456",
        ),
        (
            "order_id == \"12a\"",
            "order_id is digits, so it never equals \"12a\"",
        ),
        (
            "due < \"tomorrow\"",
            "due is date, and \"tomorrow\" is not a date (YYYY-MM-DD)",
        ),
        (
            "account_tier in [\"gold\", 3]",
            "account_tier is string, got integer 3",
        ),
        (
            "account_tier in account_tier",
            "'in' needs a list on the right, like [\"a\", \"b\"]; account_tier is not one",
        ),
        (
            "[1] == queue_priority",
            "a list can only come after 'in', not before '=='",
        ),
        (
            "queue_priority == [1]",
            "a list can only come after 'in', not after '=='",
        ),
        (
            "queue_priority contains \"1\"",
            "'contains' works on text, but queue_priority is integer",
        ),
        (
            "queue_priority matches \"1\"",
            "'matches' works on text; queue_priority is integer",
        ),
        (
            "account_tier",
            "account_tier is string, not true/false: compare it, e.g. account_tier == …",
        ),
        (
            "vip and 3",
            "3 is not a condition: compare something with it",
        ),
        ("[vip]", "a list is not a condition; use it after 'in'"),
        ("vip in [[vip]]", "a list cannot contain a list"),
        (
            "http.status == \"404\"",
            "http.status is integer, got string \"404\"",
        ),
        (
            "vip < true",
            "'<' compares numbers or dates, but vip is boolean",
        ),
    ];
    for (source, message) in cases {
        assert_eq!(check(source), [*message], "{source}");
    }
}

#[test]
fn well_typed_expressions_pass() {
    for source in [
        "queue_priority <= 2 and ratio > 0.5",
        "queue.position > 3 or queue.estimated_wait >= 300",
        "http.status == 404",
        "call.caller_number starts_with \"+1\"",
        "order_id == \"001234\" or order_id in [\"1\", \"2\"]",
        "due >= \"2026-12-24\" and due < \"2027-01-01\"",
        "vip or not vip == false",
        "(account_tier starts_with \"b\") == false",
        // Unknown names are IVR016's business, not a type error.
        "nosuch > 3 and nosuch contains \"1\"",
        "region == account_tier",
    ] {
        assert_eq!(check(source), Vec::<String>::new(), "{source}");
    }
}

#[test]
fn regex_errors_are_type_check_errors() {
    let e = Expr::parse("account_tier matches \"(gold\"").unwrap();
    let errors = e.check(&example_types);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].column, 22);
    assert_eq!(errors[0].message, "regex does not compile: unclosed group");
    // A broken regex never matches.
    assert!(!e.eval(&|_| Some(s("(gold"))));
    // Patterns that would compile into megabytes are refused, not built.
    assert_eq!(
        compile_regex("a{99999999}").unwrap_err(),
        "regex is too large (over 1048576 bytes compiled)"
    );
    assert!(compile_regex("^\\d{6,10}$").is_ok());
}

#[test]
fn coerce_by_declared_type() {
    use VarType::*;
    assert_eq!(Value::coerce(String, "x y"), Ok(s("x y")));
    assert_eq!(Value::coerce(Digits, "007"), Ok(s("007")));
    assert_eq!(
        Value::coerce(Digits, "7a"),
        Err("'7a' is not digits".to_owned())
    );
    assert!(Value::coerce(Digits, "").is_err());
    assert_eq!(Value::coerce(Integer, "-42"), Ok(Value::Int(-42)));
    assert_eq!(
        Value::coerce(Integer, "high"),
        Err("'high' is not a whole number".to_owned())
    );
    assert!(Value::coerce(Integer, "2.5").is_err());
    assert_eq!(Value::coerce(Number, "2.5"), Ok(Value::Num(2.5)));
    assert!(Value::coerce(Number, "NaN").is_err());
    assert!(Value::coerce(Number, "inf").is_err());
    assert_eq!(Value::coerce(Boolean, "true"), Ok(Value::Bool(true)));
    assert!(Value::coerce(Boolean, "yes").is_err());
    assert_eq!(Value::coerce(Date, "2026-02-28"), Ok(s("2026-02-28")));
    assert!(Value::coerce(Date, "2026-02-30").is_err());
    assert!(Value::coerce(Date, "2026-2-3").is_err());
}

#[test]
fn to_text() {
    assert_eq!(Value::Null.to_text(), "");
    assert_eq!(Value::Bool(false).to_text(), "false");
    assert_eq!(Value::Int(-3).to_text(), "-3");
    assert_eq!(Value::Num(2.0).to_text(), "2");
    assert_eq!(Value::Num(2.5).to_text(), "2.5");
    assert_eq!(s("gold").to_text(), "gold");
    assert_eq!(Value::List(vec![Value::Int(1), s("a")]).to_text(), "1, a");
}

#[test]
fn builtins_are_typed() {
    assert_eq!(builtin_type("call.caller_number"), Some(VarType::String));
    assert_eq!(builtin_type("queue.estimated_wait"), Some(VarType::Integer));
    assert_eq!(builtin_type("http.status"), Some(VarType::Integer));
    assert_eq!(builtin_type("call.nope"), None);
    assert_eq!(builtin_type("secret.token"), None);
    assert_eq!(builtin_type("account_tier"), None);
}

fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Num),
        "[a-z0-9]{0,4}".prop_map(Value::Str),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop::collection::vec(inner, 0..4).prop_map(Value::List)
    })
}

proptest! {
    #[test]
    fn parse_never_panics(source in "\\PC{0,40}") {
        let _ = Expr::parse(&source);
    }

    #[test]
    fn parse_errors_point_inside_or_just_after(source in "[a-z \"'()\\[\\],=<>!0-9.]{0,30}") {
        if let Err(e) = Expr::parse(&source) {
            prop_assert!(e.column >= 1 && e.column <= source.chars().count() + 1, "{e:?}");
            prop_assert!(e.message.contains(&format!("column {}", e.column)), "{e:?}");
        }
    }

    #[test]
    fn eval_is_total(
        op in prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">=", "in", "starts_with", "ends_with", "contains"]),
        a in any_value(),
        b in any_value(),
    ) {
        let e = Expr::parse(&format!("not a {op} b or a and b")).unwrap();
        let lookup = |name: &str| match name {
            "a" => Some(a.clone()),
            "b" => Some(b.clone()),
            _ => None,
        };
        let _ = e.eval(&lookup);
        let _ = e.check(&|_| Some(VarType::Number));
        let _ = a.to_text();
    }
}
