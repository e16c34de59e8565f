//! Branch conditions (IVR-FLOWS.md §2, "Expressions"): parsing with 1-based columns, type
//! checking against the declared variables (IVR017), and evaluation.
//!
//! ```text
//! expr   := or ;  or := and ("or" and)* ;  and := unary ("and" unary)* ;  unary := "not" unary | cmp
//! cmp    := term (op term)? ;  op := == | != | < | <= | > | >= | in | starts_with | ends_with | contains | matches
//! term   := name | call.x | "string" | number | true | false | [term, ...] | "(" expr ")"
//! ```
//!
//! Strings take double or single quotes; `\"`, `\'` and `\\` are escapes and any other
//! backslash is kept, so regexes such as `"^\d{6}$"` need no doubling. `matches` takes a
//! string literal only, compiled when the expression is parsed (the regex crate runs in linear
//! time, so a caller-supplied value cannot make it spin) and reported by [`Expr::check`]. It
//! finds the pattern anywhere in the value; anchor it with `^…$` to match the whole value.
//!
//! Evaluation is total: a missing or null value, or values of different kinds, make every
//! comparison false (`!=` included), so a lookup that failed never takes a branch by accident.

use std::cmp::Ordering;
use std::fmt;

use regex::{Regex, RegexBuilder};

use super::model::VarType;

/// A runtime value of a variable or a literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Unset or unknown.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// Whole number.
    Int(i64),
    /// Decimal number.
    Num(f64),
    /// Text, including digit strings and `YYYY-MM-DD` dates.
    Str(String),
    /// A list literal (only on the right of `in`).
    List(Vec<Value>),
}

impl Value {
    /// Converts text into a typed value for a declared variable type (digits stay strings of
    /// digits; integer parses i64; boolean true/false; date YYYY-MM-DD kept as Str after
    /// validation); Err(message) when it does not fit.
    pub fn coerce(kind: VarType, text: &str) -> Result<Value, String> {
        match kind {
            VarType::String => Ok(Value::Str(text.to_owned())),
            VarType::Digits => {
                if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(Value::Str(text.to_owned()))
                } else {
                    Err(format!("'{text}' is not digits"))
                }
            }
            VarType::Integer => text
                .parse::<i64>()
                .map(Value::Int)
                .map_err(|_| format!("'{text}' is not a whole number")),
            VarType::Number => match text.parse::<f64>() {
                // f64 parsing also accepts "inf" and "NaN", which no caller means.
                Ok(n) if n.is_finite() && !text.chars().any(char::is_alphabetic) => {
                    Ok(Value::Num(n))
                }
                _ => Err(format!("'{text}' is not a number")),
            },
            VarType::Boolean => match text {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(format!("'{text}' is not true or false")),
            },
            VarType::Date => {
                if is_date(text) {
                    Ok(Value::Str(text.to_owned()))
                } else {
                    Err(format!("'{text}' is not a date (YYYY-MM-DD)"))
                }
            }
        }
    }

    /// Text used in templates / TTS ("" for Null).
    pub fn to_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            // Whole decimals read as "2", not "2.0", when spoken.
            Value::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{n:.0}"),
            Value::Num(n) => n.to_string(),
            Value::Str(s) => s.clone(),
            Value::List(items) => items
                .iter()
                .map(Value::to_text)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// `YYYY-MM-DD` naming a real day.
fn is_date(text: &str) -> bool {
    text.len() == 10 && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

/// The type of a built-in name (`call.*`, `queue.*`, `http.*`), or None when it is not one.
/// `secret.*` is not a value an expression may read.
pub fn builtin_type(name: &str) -> Option<VarType> {
    match name.split_once('.')? {
        ("call", "caller_number" | "did" | "language" | "channel" | "started_at") => {
            Some(VarType::String)
        }
        ("queue", "position" | "estimated_wait") | ("http", "status") => Some(VarType::Integer),
        _ => None,
    }
}

/// A problem in an expression; `column` is 1-based, in characters of the expression text.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprError {
    /// Where in the expression.
    pub column: usize,
    /// What is wrong; parse errors end with "at column N".
    pub message: String,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    StartsWith,
    EndsWith,
    Contains,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::In => "in",
            Op::StartsWith => "starts_with",
            Op::EndsWith => "ends_with",
            Op::Contains => "contains",
        })
    }
}

#[derive(Debug, Clone)]
enum Ast {
    Or(Box<Ast>, Box<Ast>),
    And(Box<Ast>, Box<Ast>),
    Not {
        inner: Box<Ast>,
        column: usize,
    },
    Cmp {
        op: Op,
        lhs: Box<Ast>,
        rhs: Box<Ast>,
        column: usize,
    },
    Matches {
        lhs: Box<Ast>,
        regex: Result<Regex, String>,
        column: usize,
    },
    Name {
        name: String,
        column: usize,
    },
    Lit {
        value: Value,
        text: String,
        column: usize,
    },
    List {
        items: Vec<Ast>,
        column: usize,
    },
}

impl Ast {
    fn column(&self) -> usize {
        match self {
            Ast::Or(a, _) | Ast::And(a, _) => a.column(),
            Ast::Cmp { lhs, .. } | Ast::Matches { lhs, .. } => lhs.column(),
            Ast::Not { column, .. }
            | Ast::Name { column, .. }
            | Ast::Lit { column, .. }
            | Ast::List { column, .. } => *column,
        }
    }
}

/// A parsed `branch.when` expression.
#[derive(Debug, Clone)]
pub struct Expr {
    source: String,
    ast: Ast,
}

impl Expr {
    /// Parses an expression; the error names the 1-based column of the problem.
    pub fn parse(source: &str) -> Result<Expr, ExprError> {
        let tokens = lex(source)?;
        let mut parser = Parser { tokens, pos: 0 };
        let ast = parser.or()?;
        let next = parser.peek();
        if next.tok != Tok::End {
            let hint = if matches!(next.tok, Tok::Op(_) | Tok::Matches) {
                "; join comparisons with 'and' or 'or'"
            } else {
                ""
            };
            return Err(error(
                next.column,
                format!(
                    "unexpected {} at column {}{hint}",
                    next.describe(),
                    next.column
                ),
            ));
        }
        Ok(Expr {
            source: source.to_owned(),
            ast,
        })
    }

    /// The text the expression was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Names the expression reads (for IVR016), in order of first use.
    pub fn names(&self) -> Vec<String> {
        fn walk(ast: &Ast, out: &mut Vec<String>) {
            match ast {
                Ast::Or(a, b) | Ast::And(a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Ast::Not { inner: a, .. } | Ast::Matches { lhs: a, .. } => walk(a, out),
                Ast::Cmp { lhs, rhs, .. } => {
                    walk(lhs, out);
                    walk(rhs, out);
                }
                Ast::Name { name, .. } => {
                    if !out.contains(name) {
                        out.push(name.clone());
                    }
                }
                Ast::List { items, .. } => items.iter().for_each(|i| walk(i, out)),
                Ast::Lit { .. } => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.ast, &mut out);
        out
    }

    /// Type errors given the declared types (None = unknown name, reported by IVR016
    /// elsewhere), and regexes that do not compile.
    pub fn check(&self, types: &dyn Fn(&str) -> Option<VarType>) -> Vec<ExprError> {
        let mut out = Vec::new();
        check_condition(&self.ast, types, &mut out);
        out
    }

    /// True when the condition holds; never panics, and missing values compare false.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> bool {
        eval_condition(&self.ast, lookup)
    }
}

fn error(column: usize, message: String) -> ExprError {
    ExprError { column, message }
}

// ---- lexing ----

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Lit(Value),
    And,
    Or,
    Not,
    Op(Op),
    Matches,
    LBrack,
    RBrack,
    LParen,
    RParen,
    Comma,
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    text: String,
    column: usize,
}

impl Token {
    fn describe(&self) -> String {
        match self.tok {
            Tok::End => "end of expression".to_owned(),
            _ => format!("'{}'", self.text),
        }
    }
}

fn lex(source: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let tok = match c {
            '[' => single(&mut i, Tok::LBrack),
            ']' => single(&mut i, Tok::RBrack),
            '(' => single(&mut i, Tok::LParen),
            ')' => single(&mut i, Tok::RParen),
            ',' => single(&mut i, Tok::Comma),
            '=' | '!' | '<' | '>' => {
                let next_is_eq = chars.get(i + 1) == Some(&'=');
                let op = match (c, next_is_eq) {
                    ('=', true) => Op::Eq,
                    ('!', true) => Op::Ne,
                    ('<', true) => Op::Le,
                    ('>', true) => Op::Ge,
                    ('<', false) => Op::Lt,
                    ('>', false) => Op::Gt,
                    ('=', false) => {
                        return Err(error(
                            column,
                            format!("unexpected '=' at column {column}; compare with '=='"),
                        ));
                    }
                    _ => {
                        return Err(error(
                            column,
                            format!("unexpected '!' at column {column}; write 'not'"),
                        ));
                    }
                };
                i += 1 + usize::from(next_is_eq);
                Tok::Op(op)
            }
            '"' | '\'' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(error(
                                column,
                                format!("unterminated string starting at column {column}"),
                            ));
                        }
                        Some(&q) if q == c => {
                            i += 1;
                            break;
                        }
                        Some('\\') => {
                            match chars.get(i + 1) {
                                Some(&e) if e == '"' || e == '\'' || e == '\\' => text.push(e),
                                // Kept as written, so regex escapes like \d survive.
                                Some(&e) => {
                                    text.push('\\');
                                    text.push(e);
                                }
                                None => text.push('\\'),
                            }
                            i += 2;
                        }
                        Some(&ch) => {
                            text.push(ch);
                            i += 1;
                        }
                    }
                }
                Tok::Lit(Value::Str(text))
            }
            '0'..='9' | '-' => {
                if c == '-' && !chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                    return Err(error(
                        column,
                        format!("unexpected character '-' at column {column}"),
                    ));
                }
                i += 1;
                while chars.get(i).is_some_and(char::is_ascii_digit) {
                    i += 1;
                }
                let decimal = chars.get(i) == Some(&'.')
                    && chars.get(i + 1).is_some_and(char::is_ascii_digit);
                if decimal {
                    i += 1;
                    while chars.get(i).is_some_and(char::is_ascii_digit) {
                        i += 1;
                    }
                }
                if chars
                    .get(i)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_')
                {
                    return Err(error(
                        column,
                        format!(
                            "a name cannot start with a digit (column {column}); quote text, e.g. \"{}\"",
                            word(&chars, start)
                        ),
                    ));
                }
                let text: String = chars[start..i].iter().collect();
                if decimal {
                    match text.parse::<f64>() {
                        Ok(n) if n.is_finite() => Tok::Lit(Value::Num(n)),
                        _ => {
                            return Err(error(
                                column,
                                format!("number {text} is too large at column {column}"),
                            ));
                        }
                    }
                } else {
                    match text.parse::<i64>() {
                        Ok(n) => Tok::Lit(Value::Int(n)),
                        Err(_) => {
                            return Err(error(
                                column,
                                format!("number {text} is too large at column {column}"),
                            ));
                        }
                    }
                }
            }
            c if c.is_alphabetic() || c == '_' => {
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                if text.ends_with('.') || text.contains("..") {
                    return Err(error(
                        column,
                        format!("'{text}' at column {column} is not a name"),
                    ));
                }
                match text.as_str() {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "true" => Tok::Lit(Value::Bool(true)),
                    "false" => Tok::Lit(Value::Bool(false)),
                    "in" => Tok::Op(Op::In),
                    "starts_with" => Tok::Op(Op::StartsWith),
                    "ends_with" => Tok::Op(Op::EndsWith),
                    "contains" => Tok::Op(Op::Contains),
                    "matches" => Tok::Matches,
                    _ => Tok::Name(text),
                }
            }
            '&' | '|' => {
                let word = if c == '&' { "and" } else { "or" };
                return Err(error(
                    column,
                    format!("unexpected '{c}' at column {column}; write '{word}'"),
                ));
            }
            other => {
                return Err(error(
                    column,
                    format!("unexpected character '{other}' at column {column}"),
                ));
            }
        };
        out.push(Token {
            tok,
            text: chars[start..i].iter().collect(),
            column,
        });
    }
    out.push(Token {
        tok: Tok::End,
        text: String::new(),
        column: chars.len() + 1,
    });
    Ok(out)
}

fn single(i: &mut usize, tok: Tok) -> Tok {
    *i += 1;
    tok
}

/// The run of name characters at `start`, for messages.
fn word(chars: &[char], start: usize) -> String {
    chars[start..]
        .iter()
        .take_while(|c| c.is_alphanumeric() || **c == '_')
        .collect()
}

// ---- parsing ----

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // `lex` always ends with End, and `bump` never moves past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if token.tok != Tok::End {
            self.pos += 1;
        }
        token
    }

    fn or(&mut self) -> Result<Ast, ExprError> {
        let mut left = self.and()?;
        while self.peek().tok == Tok::Or {
            self.bump();
            let right = self.and()?;
            left = Ast::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Ast, ExprError> {
        let mut left = self.unary()?;
        while self.peek().tok == Tok::And {
            self.bump();
            let right = self.unary()?;
            left = Ast::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Ast, ExprError> {
        if self.peek().tok == Tok::Not {
            let column = self.bump().column;
            return Ok(Ast::Not {
                inner: Box::new(self.unary()?),
                column,
            });
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Ast, ExprError> {
        let lhs = self.term()?;
        match self.peek().tok {
            Tok::Op(op) => {
                let column = self.bump().column;
                let rhs = self.term()?;
                Ok(Ast::Cmp {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                    column,
                })
            }
            Tok::Matches => {
                self.bump();
                let pattern = self.bump();
                let Tok::Lit(Value::Str(text)) = &pattern.tok else {
                    return Err(error(
                        pattern.column,
                        format!(
                            "'matches' needs a regex in quotes at column {}, found {}",
                            pattern.column,
                            pattern.describe()
                        ),
                    ));
                };
                Ok(Ast::Matches {
                    lhs: Box::new(lhs),
                    regex: compile_regex(text),
                    column: pattern.column,
                })
            }
            _ => Ok(lhs),
        }
    }

    fn term(&mut self) -> Result<Ast, ExprError> {
        let token = self.bump();
        match token.tok {
            Tok::Name(name) => Ok(Ast::Name {
                name,
                column: token.column,
            }),
            Tok::Lit(value) => Ok(Ast::Lit {
                value,
                text: token.text,
                column: token.column,
            }),
            Tok::LBrack => {
                let mut items = Vec::new();
                loop {
                    if self.peek().tok == Tok::RBrack {
                        self.bump();
                        break;
                    }
                    items.push(self.term()?);
                    let next = self.bump();
                    match next.tok {
                        Tok::Comma => {}
                        Tok::RBrack => break,
                        _ => {
                            return Err(error(
                                next.column,
                                format!("expected ']' at column {}", next.column),
                            ));
                        }
                    }
                }
                Ok(Ast::List {
                    items,
                    column: token.column,
                })
            }
            Tok::LParen => {
                let inner = self.or()?;
                let next = self.bump();
                if next.tok != Tok::RParen {
                    return Err(error(
                        next.column,
                        format!("expected ')' at column {}", next.column),
                    ));
                }
                Ok(inner)
            }
            _ => Err(error(
                token.column,
                match token.tok {
                    Tok::End => format!("expected a value at column {}", token.column),
                    _ => format!(
                        "expected a value at column {}, found {}",
                        token.column,
                        token.describe()
                    ),
                },
            )),
        }
    }
}

/// Compiles a `matches` / `gather.validate.pattern` regex; the error is one line.
pub fn compile_regex(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        // Flow files are small; a pattern this large is a mistake, not a need.
        .size_limit(1 << 20)
        .build()
        .map_err(|e| match &e {
            regex::Error::Syntax(text) => {
                let reason = text
                    .lines()
                    .rev()
                    .find_map(|l| l.trim().strip_prefix("error: "))
                    .unwrap_or(text);
                format!("regex does not compile: {reason}")
            }
            regex::Error::CompiledTooBig(limit) => {
                format!("regex is too large (over {limit} bytes compiled)")
            }
            other => format!("regex does not compile: {other}"),
        })
}

// ---- type checking ----

/// What a term is, for type checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Scalar(VarType),
    List,
}

fn type_name(ty: Ty) -> &'static str {
    match ty {
        Ty::List => "list",
        Ty::Scalar(kind) => var_type_name(kind),
    }
}

/// The name a variable type is declared with (`integer`, `digits`, …).
pub(crate) fn var_type_name(kind: VarType) -> &'static str {
    match kind {
        VarType::String => "string",
        VarType::Digits => "digits",
        VarType::Integer => "integer",
        VarType::Number => "number",
        VarType::Boolean => "boolean",
        VarType::Date => "date",
    }
}

fn is_numeric(ty: Ty) -> bool {
    matches!(ty, Ty::Scalar(VarType::Integer | VarType::Number))
}

fn is_text(ty: Ty) -> bool {
    matches!(
        ty,
        Ty::Scalar(VarType::String | VarType::Digits | VarType::Date)
    )
}

/// One side of a comparison after checking it.
struct Operand<'a> {
    ty: Option<Ty>,
    /// `account_tier`, `"gold"`, `3`.
    shown: String,
    /// The literal string, when the operand is one.
    text_literal: Option<&'a str>,
    is_name: bool,
    column: usize,
}

fn literal_type(value: &Value) -> Ty {
    match value {
        Value::Bool(_) => Ty::Scalar(VarType::Boolean),
        Value::Int(_) => Ty::Scalar(VarType::Integer),
        Value::Num(_) => Ty::Scalar(VarType::Number),
        Value::List(_) => Ty::List,
        Value::Str(_) | Value::Null => Ty::Scalar(VarType::String),
    }
}

fn check_condition(ast: &Ast, types: &dyn Fn(&str) -> Option<VarType>, out: &mut Vec<ExprError>) {
    match ast {
        Ast::Or(a, b) | Ast::And(a, b) => {
            check_condition(a, types, out);
            check_condition(b, types, out);
        }
        Ast::Not { inner, .. } => check_condition(inner, types, out),
        Ast::Cmp {
            op,
            lhs,
            rhs,
            column,
        } => check_cmp(*op, lhs, rhs, *column, types, out),
        Ast::Matches { lhs, regex, column } => {
            let l = operand(lhs, types, out);
            if let Some(ty) = l.ty
                && !is_text(ty)
            {
                out.push(error(
                    l.column,
                    format!("'matches' works on text; {} is {}", l.shown, type_name(ty)),
                ));
            }
            if let Err(message) = regex {
                out.push(error(*column, message.clone()));
            }
        }
        Ast::Name { name, column } => match types(name) {
            Some(VarType::Boolean) | None => {}
            Some(other) => out.push(error(
                *column,
                format!(
                    "{name} is {}, not true/false: compare it, e.g. {name} == …",
                    type_name(Ty::Scalar(other))
                ),
            )),
        },
        Ast::Lit {
            value,
            text,
            column,
        } => {
            if !matches!(value, Value::Bool(_)) {
                out.push(error(
                    *column,
                    format!("{text} is not a condition: compare something with it"),
                ));
            }
        }
        Ast::List { column, .. } => out.push(error(
            *column,
            "a list is not a condition; use it after 'in'".to_owned(),
        )),
    }
}

fn operand<'a>(
    ast: &'a Ast,
    types: &dyn Fn(&str) -> Option<VarType>,
    out: &mut Vec<ExprError>,
) -> Operand<'a> {
    let column = ast.column();
    match ast {
        Ast::Name { name, .. } => Operand {
            ty: types(name).map(Ty::Scalar),
            shown: name.clone(),
            text_literal: None,
            is_name: true,
            column,
        },
        Ast::Lit { value, text, .. } => Operand {
            ty: Some(literal_type(value)),
            shown: text.clone(),
            text_literal: match value {
                Value::Str(s) => Some(s),
                _ => None,
            },
            is_name: false,
            column,
        },
        Ast::List { items, .. } => {
            for item in items {
                if matches!(item, Ast::List { .. }) {
                    out.push(error(
                        item.column(),
                        "a list cannot contain a list".to_owned(),
                    ));
                } else {
                    operand(item, types, out);
                }
            }
            Operand {
                ty: Some(Ty::List),
                shown: "the list".to_owned(),
                text_literal: None,
                is_name: false,
                column,
            }
        }
        condition => {
            check_condition(condition, types, out);
            Operand {
                ty: Some(Ty::Scalar(VarType::Boolean)),
                shown: format!("the condition at column {column}"),
                text_literal: None,
                is_name: false,
                column,
            }
        }
    }
}

/// Reports two operands that can never be equal; None when they can.
fn mismatch(a: &Operand<'_>, b: &Operand<'_>) -> Option<String> {
    let (ta, tb) = (a.ty?, b.ty?);
    let family = |t: Ty| match t {
        _ if is_numeric(t) => 0,
        _ if is_text(t) => 1,
        Ty::Scalar(_) => 2,
        Ty::List => 3,
    };
    let describe = |x: &Operand<'_>, t: Ty, y: &Operand<'_>, u: Ty| {
        if x.is_name && !y.is_name {
            format!(
                "{} is {}, got {} {}",
                x.shown,
                type_name(t),
                type_name(u),
                y.shown
            )
        } else {
            format!(
                "{} is {} but {} is {}",
                x.shown,
                type_name(t),
                y.shown,
                type_name(u)
            )
        }
    };
    if family(ta) != family(tb) {
        // Name the variable first: "queue_priority is integer, got string \"high\"".
        return Some(if b.is_name && !a.is_name {
            describe(b, tb, a, ta)
        } else {
            describe(a, ta, b, tb)
        });
    }
    // Text kinds: a literal that a digits or date variable can never hold.
    for (var, lit, t) in [(a, b, ta), (b, a, tb)] {
        let Some(text) = lit.text_literal else {
            continue;
        };
        match t {
            Ty::Scalar(VarType::Digits) if !text.bytes().all(|b| b.is_ascii_digit()) => {
                return Some(format!(
                    "{} is digits, so it never equals {}",
                    var.shown, lit.shown
                ));
            }
            Ty::Scalar(VarType::Date) if !is_date(text) => {
                return Some(format!(
                    "{} is date, and {} is not a date (YYYY-MM-DD)",
                    var.shown, lit.shown
                ));
            }
            _ => {}
        }
    }
    None
}

fn check_cmp(
    op: Op,
    lhs: &Ast,
    rhs: &Ast,
    column: usize,
    types: &dyn Fn(&str) -> Option<VarType>,
    out: &mut Vec<ExprError>,
) {
    let l = operand(lhs, types, out);
    let r = operand(rhs, types, out);
    if l.ty == Some(Ty::List) {
        out.push(error(
            l.column,
            format!("a list can only come after 'in', not before '{op}'"),
        ));
        return;
    }
    match op {
        Op::In => {
            let Ast::List { items, .. } = rhs else {
                out.push(error(
                    r.column,
                    format!(
                        "'in' needs a list on the right, like [\"a\", \"b\"]; {} is not one",
                        r.shown
                    ),
                ));
                return;
            };
            for item in items.iter().filter(|i| !matches!(i, Ast::List { .. })) {
                // Item problems were reported with `r`; only the pairing is new here.
                let it = operand(item, types, &mut Vec::new());
                if let Some(message) = mismatch(&l, &it) {
                    out.push(error(it.column, message));
                }
            }
        }
        _ if r.ty == Some(Ty::List) => out.push(error(
            r.column,
            format!("a list can only come after 'in', not after '{op}'"),
        )),
        Op::Eq | Op::Ne => {
            if let Some(message) = mismatch(&l, &r) {
                out.push(error(column, message));
            }
        }
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let orderable = |t: Ty| is_numeric(t) || t == Ty::Scalar(VarType::Date);
            for side in [&l, &r] {
                if let Some(t) = side.ty
                    && !orderable(t)
                    // A quoted date next to a date variable is fine; `mismatch` checks it.
                    && !(side.text_literal.is_some()
                        && [l.ty, r.ty].contains(&Some(Ty::Scalar(VarType::Date))))
                {
                    out.push(error(
                        side.column,
                        format!(
                            "'{op}' compares numbers or dates, but {} is {}",
                            side.shown,
                            type_name(t)
                        ),
                    ));
                    return;
                }
            }
            if let Some(message) = mismatch(&l, &r) {
                out.push(error(column, message));
            }
        }
        Op::StartsWith | Op::EndsWith | Op::Contains => {
            for side in [&l, &r] {
                if let Some(t) = side.ty
                    && !is_text(t)
                {
                    out.push(error(
                        side.column,
                        format!(
                            "'{op}' works on text, but {} is {}",
                            side.shown,
                            type_name(t)
                        ),
                    ));
                }
            }
        }
    }
}

// ---- evaluation ----

fn eval_condition(ast: &Ast, lookup: &dyn Fn(&str) -> Option<Value>) -> bool {
    match ast {
        Ast::Or(a, b) => eval_condition(a, lookup) || eval_condition(b, lookup),
        Ast::And(a, b) => eval_condition(a, lookup) && eval_condition(b, lookup),
        Ast::Not { inner, .. } => !eval_condition(inner, lookup),
        Ast::Cmp { op, lhs, rhs, .. } => {
            let (a, b) = (eval_value(lhs, lookup), eval_value(rhs, lookup));
            match op {
                Op::Eq => equal(&a, &b),
                Op::Ne => compare(&a, &b).is_some_and(|o| o != Ordering::Equal),
                Op::Lt => ordered(&a, &b).is_some_and(Ordering::is_lt),
                Op::Le => ordered(&a, &b).is_some_and(Ordering::is_le),
                Op::Gt => ordered(&a, &b).is_some_and(Ordering::is_gt),
                Op::Ge => ordered(&a, &b).is_some_and(Ordering::is_ge),
                Op::In => match &b {
                    Value::List(items) => items.iter().any(|item| equal(&a, item)),
                    _ => false,
                },
                Op::StartsWith | Op::EndsWith | Op::Contains => match (&a, &b) {
                    (Value::Str(s), Value::Str(t)) => match op {
                        Op::StartsWith => s.starts_with(t.as_str()),
                        Op::EndsWith => s.ends_with(t.as_str()),
                        _ => s.contains(t.as_str()),
                    },
                    _ => false,
                },
            }
        }
        Ast::Matches { lhs, regex, .. } => match (eval_value(lhs, lookup), regex) {
            (Value::Str(s), Ok(re)) => re.is_match(&s),
            _ => false,
        },
        value => matches!(eval_value(value, lookup), Value::Bool(true)),
    }
}

fn eval_value(ast: &Ast, lookup: &dyn Fn(&str) -> Option<Value>) -> Value {
    match ast {
        Ast::Name { name, .. } => lookup(name).unwrap_or(Value::Null),
        Ast::Lit { value, .. } => value.clone(),
        Ast::List { items, .. } => {
            Value::List(items.iter().map(|i| eval_value(i, lookup)).collect())
        }
        condition => Value::Bool(eval_condition(condition, lookup)),
    }
}

/// Order of two values of the same kind; None for null or different kinds.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(_) | Value::Num(_), Value::Int(_) | Value::Num(_)) => {
            as_f64(a).partial_cmp(&as_f64(b))
        }
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::List(x), Value::List(y)) => {
            let same = x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q));
            same.then_some(Ordering::Equal).or(Some(Ordering::Less))
        }
        _ => None,
    }
}

/// `<`-style ordering: numbers, and text (which orders `YYYY-MM-DD` dates by day).
fn ordered(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Bool(_), _) | (Value::List(_), _) => None,
        _ => compare(a, b),
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    compare(a, b) == Some(Ordering::Equal)
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Num(n) => *n,
        _ => f64::NAN,
    }
}

#[cfg(test)]
#[path = "expr_tests.rs"]
mod tests;
