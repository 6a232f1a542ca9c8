//! Build arguments and environment variables in scope at each instruction, with BuildKit's
//! rules: an ARG before the first FROM is seen only by FROM lines unless a stage declares it
//! again (then it takes the global value); a stage ARG takes the `--build-arg` value, else its
//! default; an ENV always wins over an ARG of the same name; a stage built from another stage
//! inherits its ENV (part of the image) but not its ARGs. A value that cannot be known (an ARG
//! without a default, an expansion of something unknown) stays unknown: never guessed.

use std::sync::Arc;

use brush_parser::ParserOptions;

use crate::shell;
use crate::syntax::{Instruction, Keyword};

/// Which instruction declared a variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Arg,
    Env,
}

/// One variable in scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Var {
    pub name: String,
    /// `None`: declared, value unknown.
    pub value: Option<String>,
    pub kind: Kind,
}

/// The variables in scope, in declaration order (a name at most once).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vars {
    list: Vec<Var>,
}

impl Vars {
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.list.iter().find(|v| v.name == name)
    }

    /// A variable's value when it is known.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name)?.value.as_deref()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Var> + '_ {
        self.list.iter()
    }

    /// Declares or updates a variable; an ARG never replaces an ENV of the same name.
    fn set(&mut self, name: &str, value: Option<String>, kind: Kind) {
        match self.list.iter_mut().find(|v| v.name == name) {
            Some(v) if v.kind == Kind::Env && kind == Kind::Arg => {}
            Some(v) => {
                v.value = value;
                v.kind = kind;
            }
            None => self.list.push(Var {
                name: name.to_string(),
                value,
                kind,
            }),
        }
    }

    /// Only the ENV variables: what a stage built from this one starts with.
    pub fn envs(&self) -> Vars {
        Vars {
            list: self
                .list
                .iter()
                .filter(|v| v.kind == Kind::Env)
                .cloned()
                .collect(),
        }
    }

    /// A word of an instruction expanded with these variables as BuildKit does (quotes
    /// removed, no field splitting); `None` when it uses anything unknown.
    pub fn expand(&self, raw: &str) -> Option<String> {
        let lookup = |name: &str| self.value(name).map(str::to_string);
        shell::expand(raw, &ParserOptions::default(), &lookup, false).map(|f| f.concat())
    }
}

/// `--build-arg` values.
pub type BuildArgs = [(String, String)];

/// The global ARGs: those before the first FROM.
pub fn global_args(instructions: &[&Instruction], build_args: &BuildArgs) -> Vars {
    let mut vars = Vars::default();
    for inst in instructions {
        declare_args(inst, &mut vars, None, build_args);
    }
    vars
}

/// Applies an ARG instruction (several names allowed) to `vars`. A stage's ARG without a
/// default takes the global one (`globals`).
pub fn declare_args(
    inst: &Instruction,
    vars: &mut Vars,
    globals: Option<&Vars>,
    build_args: &BuildArgs,
) {
    if inst.keyword != Keyword::Arg {
        return;
    }
    for (name, default) in pairs(inst) {
        let given = build_args.iter().rev().find(|(n, _)| *n == name);
        let value = match (given, default) {
            (Some((_, v)), _) => Some(v.clone()),
            (None, Some(raw)) => vars.expand(&raw),
            (None, None) => globals.and_then(|g| g.value(&name)).map(str::to_string),
        };
        vars.set(&name, value, Kind::Arg);
    }
}

/// Applies an ENV instruction to `vars`.
pub fn declare_env(inst: &Instruction, vars: &mut Vars) {
    if inst.keyword != Keyword::Env {
        return;
    }
    // Every value is expanded with the variables as they were before this instruction.
    let before = vars.clone();
    for (name, raw) in pairs(inst) {
        let value = raw.and_then(|r| before.expand(&r));
        vars.set(&name, value, Kind::Env);
    }
}

/// The `name[=value]` pairs of an ARG or ENV, values raw (quotes kept, for expansion). The
/// legacy `ENV NAME value with spaces` form is one pair.
fn pairs(inst: &Instruction) -> Vec<(String, Option<String>)> {
    let line = inst.line.as_str();
    let words = inst.words();
    let raw = |w: &crate::syntax::Word| line.get(w.range.clone()).unwrap_or_default().to_string();
    if inst.keyword == Keyword::Env
        && let Some(first) = words.first()
        && !raw(first).contains('=')
    {
        // `ENV NAME value`: the rest of the line is the value.
        let rest = line
            .get(first.range.end..inst.args().end)
            .unwrap_or_default()
            .trim()
            .to_string();
        return vec![(first.value.clone(), Some(rest))];
    }
    words
        .iter()
        .map(|w| {
            let text = raw(w);
            match text.split_once('=') {
                Some((name, value)) => (name.to_string(), Some(value.to_string())),
                None => (text, None),
            }
        })
        .collect()
}

/// What is in effect at an instruction.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// The working directory, absolute; `None` when the base image's is unknown here.
    pub workdir: Option<Arc<str>>,
    /// The USER; `None` for the base image's default user.
    pub user: Option<Arc<str>>,
    /// RUN goes to a POSIX shell.
    pub posix: bool,
    pub vars: Arc<Vars>,
}

impl State {
    /// The same values as `other`, known without comparing them: each field is the same
    /// allocation (a WORKDIR, USER, ARG or ENV makes a new one).
    pub(crate) fn same(&self, other: &State) -> bool {
        let same_text = |a: &Option<Arc<str>>, b: &Option<Arc<str>>| match (a, b) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        self.posix == other.posix
            && same_text(&self.workdir, &other.workdir)
            && same_text(&self.user, &other.user)
            && Arc::ptr_eq(&self.vars, &other.vars)
    }

    /// Whether commands run as root: the default user is taken to be root, as it is for nearly
    /// every base image.
    pub fn root(&self) -> bool {
        self.user.as_deref().is_none_or(|u| {
            let name = u.split(':').next().unwrap_or_default();
            name == "root" || name == "0"
        })
    }

    /// A variable's value in the instruction's environment, when known.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.value(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::Dockerfile;

    fn vars_after(text: &str, build_args: &BuildArgs) -> Vars {
        let df = Dockerfile::parse(text);
        let mut vars = Vars::default();
        let globals = Vars::default();
        for inst in df.instructions() {
            declare_args(inst, &mut vars, Some(&globals), build_args);
            declare_env(inst, &mut vars);
        }
        vars
    }

    #[test]
    fn arg_defaults_build_args_and_env_precedence() {
        let vars = vars_after(
            "FROM a\nARG A=1\nARG B\nARG C=3\nENV D=${A}x E=\"$C y\" F=$B\nARG D=9\n",
            &[("C".into(), "given".into())],
        );
        assert_eq!(vars.value("A"), Some("1"));
        // Declared without a default and not given: unknown, never guessed as empty.
        assert_eq!(vars.get("B").map(|v| v.value.clone()), Some(None));
        assert_eq!(vars.value("C"), Some("given"));
        assert_eq!(vars.value("D"), Some("1x"));
        assert_eq!(vars.value("E"), Some("given y"));
        assert_eq!(vars.value("F"), None);
        // ENV wins over a later ARG of the same name.
        assert_eq!(vars.get("D").unwrap().kind, Kind::Env);
    }

    #[test]
    fn env_values_expand_with_what_was_set_before_the_instruction() {
        let vars = vars_after("FROM a\nENV A=1\nENV A=2 B=$A\n", &[]);
        assert_eq!(vars.value("B"), Some("1"));
        let vars = vars_after("FROM a\nENV LISTS /var/lib/apt/lists\n", &[]);
        assert_eq!(vars.value("LISTS"), Some("/var/lib/apt/lists"));
    }

    #[test]
    fn expansion_forms() {
        let vars = vars_after("FROM a\nENV A=x EMPTY=\"\"\n", &[]);
        for (raw, want) in [
            ("$A", Some("x")),
            ("${A}/y", Some("x/y")),
            ("${EMPTY:-d}", Some("d")),
            ("${EMPTY-d}", Some("")),
            ("${A:+alt}", Some("alt")),
            ("${EMPTY:+alt}", Some("")),
            ("'$A'", Some("$A")),
            ("\"$A b\"", Some("x b")),
            ("\\$A", Some("$A")),
            ("$UNKNOWN", None),
            ("${UNKNOWN:-d}", None),
        ] {
            assert_eq!(vars.expand(raw).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn a_stage_arg_without_default_takes_the_global_value() {
        let df = Dockerfile::parse("ARG V=1.2\nFROM a\nARG V\n");
        let instructions: Vec<&Instruction> = df.instructions().collect();
        let globals = global_args(&instructions[..1], &[]);
        let mut vars = Vars::default();
        declare_args(instructions[2], &mut vars, Some(&globals), &[]);
        assert_eq!(vars.value("V"), Some("1.2"));
    }
}
