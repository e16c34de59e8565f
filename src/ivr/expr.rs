//! Stand-in for the `branch.when` expression module (IVR-FLOWS.md §2 "Expressions").
//!
//! Another engineer writes the real `src/ivr/expr.rs` with this exact API; at merge theirs
//! replaces this file. It exists only so the interpreter and its tests build in this branch,
//! so it is deliberately small: the grammar of §2 with loose typing, no spans beyond a column,
//! and `check` does no type inference.

use super::model::VarType;

/// A runtime value of a flow variable or an expression term.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Unset.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// Whole number.
    Int(i64),
    /// Decimal number.
    Num(f64),
    /// Text, digit strings and dates.
    Str(String),
    /// `[a, b]` literals.
    List(Vec<Value>),
}

impl Value {
    /// Converts text (a default, a `set` result, gathered digits) to the declared type.
    pub fn coerce(kind: VarType, text: &str) -> Result<Value, String> {
        let bad = |what: &str| format!("'{text}' is not {what}");
        match kind {
            VarType::String => Ok(Value::Str(text.to_owned())),
            VarType::Digits => {
                if text.chars().all(|c| c.is_ascii_digit()) {
                    Ok(Value::Str(text.to_owned()))
                } else {
                    Err(bad("a digit string"))
                }
            }
            VarType::Integer => text
                .trim()
                .parse()
                .map(Value::Int)
                .map_err(|_| bad("an integer")),
            VarType::Number => text
                .trim()
                .parse()
                .map(Value::Num)
                .map_err(|_| bad("a number")),
            VarType::Boolean => match text.trim() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(bad("true or false")),
            },
            VarType::Date => chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                .map(|d| Value::Str(d.to_string()))
                .map_err(|_| bad("a date (YYYY-MM-DD)")),
        }
    }

    /// The value as text, as templates insert it.
    pub fn to_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Num(n) => n.to_string(),
            Value::Str(s) => s.clone(),
            Value::List(items) => items
                .iter()
                .map(Value::to_text)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }
}

/// A parse or type problem, with a 1-based column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    /// 1-based column in the expression text.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr(Node);

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Or(Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Cmp(Box<Node>, String, Box<Node>),
    Name(String),
    Lit(Value),
    List(Vec<Node>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(String),
    Op(String),
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, ExprError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(ExprError {
                            column: col,
                            message: "unterminated string".into(),
                        });
                    }
                    Some('"') => break,
                    Some('\\') if i + 1 < chars.len() => {
                        s.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    Some(&ch) => s.push(ch),
                }
                i += 1;
            }
            i += 1;
            out.push((col, Tok::Str(s)));
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            out.push((col, Tok::Num(chars[start..i].iter().collect())));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            out.push((col, Tok::Word(chars[start..i].iter().collect())));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = if ["==", "!=", "<=", ">="].contains(&two.as_str()) {
                two
            } else if "<>[](),".contains(c) {
                c.to_string()
            } else {
                return Err(ExprError {
                    column: col,
                    message: format!("unexpected '{c}'"),
                });
            };
            i += op.len();
            out.push((col, Tok::Op(op)));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
}

const CMP_WORDS: &[&str] = &["in", "starts_with", "ends_with", "contains", "matches"];

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }
    fn column(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(c, _)| *c)
    }
    fn err<T>(&self, message: String) -> Result<T, ExprError> {
        Err(ExprError {
            column: self.column(),
            message,
        })
    }
    fn word(&mut self, w: &str) -> bool {
        if self.peek() == Some(&Tok::Word(w.into())) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn op(&mut self, o: &str) -> bool {
        if self.peek() == Some(&Tok::Op(o.into())) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn or(&mut self) -> Result<Node, ExprError> {
        let mut left = self.and()?;
        while self.word("or") {
            left = Node::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Node, ExprError> {
        let mut left = self.unary()?;
        while self.word("and") {
            left = Node::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }
    fn unary(&mut self) -> Result<Node, ExprError> {
        if self.word("not") {
            return Ok(Node::Not(Box::new(self.unary()?)));
        }
        let left = self.term()?;
        let op = match self.peek() {
            Some(Tok::Op(o)) if ["==", "!=", "<", "<=", ">", ">="].contains(&o.as_str()) => {
                o.clone()
            }
            Some(Tok::Word(w)) if CMP_WORDS.contains(&w.as_str()) => w.clone(),
            _ => return Ok(left),
        };
        self.pos += 1;
        Ok(Node::Cmp(Box::new(left), op, Box::new(self.term()?)))
    }
    fn term(&mut self) -> Result<Node, ExprError> {
        let Some(tok) = self.peek().cloned() else {
            return self.err("expected a value".into());
        };
        self.pos += 1;
        Ok(match tok {
            Tok::Str(s) => Node::Lit(Value::Str(s)),
            Tok::Num(n) => match n.parse::<i64>() {
                Ok(i) => Node::Lit(Value::Int(i)),
                Err(_) => match n.parse::<f64>() {
                    Ok(f) => Node::Lit(Value::Num(f)),
                    Err(_) => {
                        self.pos -= 1;
                        return self.err(format!("bad number '{n}'"));
                    }
                },
            },
            Tok::Word(w) if w == "true" => Node::Lit(Value::Bool(true)),
            Tok::Word(w) if w == "false" => Node::Lit(Value::Bool(false)),
            Tok::Word(w) => Node::Name(w),
            Tok::Op(o) if o == "(" => {
                let inner = self.or()?;
                if !self.op(")") {
                    return self.err("expected ')'".into());
                }
                inner
            }
            Tok::Op(o) if o == "[" => {
                let mut items = Vec::new();
                if !self.op("]") {
                    loop {
                        items.push(self.term()?);
                        if self.op("]") {
                            break;
                        }
                        if !self.op(",") {
                            return self.err("expected ']'".into());
                        }
                    }
                }
                Node::List(items)
            }
            Tok::Op(o) => {
                self.pos -= 1;
                return self.err(format!("unexpected '{o}'"));
            }
        })
    }
}

impl Expr {
    /// Parses the §2 grammar.
    pub fn parse(source: &str) -> Result<Expr, ExprError> {
        let toks = lex(source)?;
        let mut p = Parser {
            toks,
            pos: 0,
            end: source.chars().count() + 1,
        };
        let node = p.or()?;
        if p.pos < p.toks.len() {
            return p.err("unexpected text after the expression".into());
        }
        Ok(Expr(node))
    }

    /// Every variable name the expression reads.
    pub fn names(&self) -> Vec<String> {
        fn walk(n: &Node, out: &mut Vec<String>) {
            match n {
                Node::Or(a, b) | Node::And(a, b) | Node::Cmp(a, _, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Node::Not(a) => walk(a, out),
                Node::Name(name) => out.push(name.clone()),
                Node::List(items) => items.iter().for_each(|i| walk(i, out)),
                Node::Lit(_) => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.0, &mut out);
        out
    }

    /// Reports names the declarations do not know (no type inference in this stand-in).
    pub fn check(&self, types: &dyn Fn(&str) -> Option<VarType>) -> Vec<ExprError> {
        self.names()
            .into_iter()
            .filter(|n| !n.contains('.') && types(n).is_none())
            .map(|n| ExprError {
                column: 1,
                message: format!("undeclared variable '{n}'"),
            })
            .collect()
    }

    /// Evaluates; total: a comparison of mismatched types is false, unknown names are null.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> bool {
        truthy(&value(&self.0, lookup))
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Num(n) => *n != 0.0,
        Value::Str(s) => !s.is_empty(),
        Value::List(l) => !l.is_empty(),
    }
}

fn value(n: &Node, lookup: &dyn Fn(&str) -> Option<Value>) -> Value {
    match n {
        Node::Or(a, b) => Value::Bool(truthy(&value(a, lookup)) || truthy(&value(b, lookup))),
        Node::And(a, b) => Value::Bool(truthy(&value(a, lookup)) && truthy(&value(b, lookup))),
        Node::Not(a) => Value::Bool(!truthy(&value(a, lookup))),
        Node::Name(name) => lookup(name).unwrap_or(Value::Null),
        Node::Lit(v) => v.clone(),
        Node::List(items) => Value::List(items.iter().map(|i| value(i, lookup)).collect()),
        Node::Cmp(a, op, b) => {
            let (a, b) = (value(a, lookup), value(b, lookup));
            let order = match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x.partial_cmp(&y),
                _ => match (&a, &b) {
                    (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
                    _ => None,
                },
            };
            use std::cmp::Ordering::*;
            Value::Bool(match op.as_str() {
                "==" => order == Some(Equal) || a == b,
                "!=" => !(order == Some(Equal) || a == b),
                "<" => order == Some(Less),
                "<=" => matches!(order, Some(Less | Equal)),
                ">" => order == Some(Greater),
                ">=" => matches!(order, Some(Greater | Equal)),
                "in" => match &b {
                    Value::List(items) => items.contains(&a),
                    Value::Str(s) => s.contains(&a.to_text()),
                    _ => false,
                },
                "contains" => match &a {
                    Value::List(items) => items.contains(&b),
                    Value::Str(s) => s.contains(&b.to_text()),
                    _ => false,
                },
                "starts_with" => a.to_text().starts_with(&b.to_text()),
                "ends_with" => a.to_text().ends_with(&b.to_text()),
                "matches" => {
                    regex::Regex::new(&b.to_text()).is_ok_and(|r| r.is_match(&a.to_text()))
                }
                _ => false,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_the_example_conditions() {
        let e = Expr::parse(r#"account_tier in ["gold", "platinum"]"#).unwrap();
        let gold = |n: &str| (n == "account_tier").then(|| Value::Str("gold".into()));
        let basic = |n: &str| (n == "account_tier").then(|| Value::Str("standard".into()));
        assert!(e.eval(&gold));
        assert!(!e.eval(&basic));
        let e = Expr::parse(r#"order_status == "delayed" or not (n > 3)"#).unwrap();
        assert_eq!(e.names(), vec!["order_status", "n"]);
        assert!(!e.eval(&|n: &str| Some(if n == "n" { Value::Int(5) } else { Value::Null })));
        assert!(Expr::parse(r#"a in ["x", "y""#).is_err());
    }
}
