//! Configuration from a TOML file: the file's keys are the `serve`
//! options' names (`listen`, `max_body_bytes`, `relay_lease_secs`, …),
//! `database_url` and `log_format`. Precedence, lowest first: built-in
//! defaults, the file, the `INTEGRITY_*` environment, command-line flags.
//! The file takes its place by filling in the environment variables that
//! are not set, which the flags then override as usual.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::CommandFactory;

/// The file named by `--config FILE` (or `INTEGRITY_CONFIG`), found before
/// the arguments are parsed, since it changes their defaults.
pub fn file_from_args(args: &[String]) -> Option<PathBuf> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("INTEGRITY_CONFIG").map(PathBuf::from)
}

/// Every setting the file may hold: key → its environment variable.
fn settings() -> BTreeMap<String, String> {
    let command = crate::Cli::command();
    let serve = command
        .get_subcommands()
        .find(|c| c.get_name() == "serve")
        .expect("the serve command exists");
    command
        .get_arguments()
        .chain(serve.get_arguments())
        .filter_map(|arg| {
            let env = arg.get_env()?.to_str()?.to_string();
            let key = env.strip_prefix("INTEGRITY_")?.to_lowercase();
            Some((key, env))
        })
        .filter(|(key, _)| key != "config")
        .collect()
}

/// Reads the file and sets the environment variables it supplies; refuses
/// unknown keys, so that a misspelt setting is not silently ignored.
pub fn apply_file(path: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
    let known = settings();
    for (key, value) in table {
        let Some(env) = known.get(&key) else {
            let names: Vec<&str> = known.keys().map(String::as_str).collect();
            bail!(
                "{}: unknown setting `{key}` (known: {})",
                path.display(),
                names.join(", ")
            );
        };
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    toml::Value::String(s) => Ok(s.clone()),
                    other => bail!(
                        "{}: `{key}` lists {other}, expected strings",
                        path.display()
                    ),
                })
                .collect::<anyhow::Result<Vec<_>>>()?
                .join(","),
            other => bail!("{}: `{key}` cannot be {}", path.display(), other.type_str()),
        };
        if std::env::var_os(env).is_none() {
            // Before any thread starts: nothing else reads the environment yet.
            std::env::set_var(env, value);
        }
    }
    Ok(())
}

/// The effective configuration of `serve` as TOML, secrets hidden.
pub fn render(
    database: &integrity_store::DatabaseUrl,
    log_format: &str,
    serve: &crate::serve::ServeArgs,
) -> anyhow::Result<String> {
    let mut table = toml::Table::new();
    table.insert(
        "database_url".into(),
        toml::Value::String(database.redacted()),
    );
    table.insert("log_format".into(), toml::Value::String(log_format.into()));
    let serve = toml::Table::try_from(serve).context("rendering the configuration")?;
    table.extend(serve);
    Ok(toml::to_string(&table)?)
}
