//! `oms token add | ls | rm`: the seller-scoped API tokens of `oms serve`, in the
//! tokens file (`OMS_API_TOKENS_FILE`, `[api] tokens_file`). `add` prints the new token
//! once (on stdout, nothing else there); the file keeps only its SHA-256.

use super::{bad, exit, print};
use crate::cli::{OutputFormat, TokenAddArgs, TokenCommand};
use crate::config::Config;
use crate::domain::access::{self, NamedToken, SellerScope, TokenHash, TokensFileError};
use crate::domain::timestamp;
use crate::http::tokens;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde_json::json;

pub fn run(c: TokenCommand, config: &Config) -> anyhow::Result<u8> {
    let path = config.api_tokens_file.as_deref().ok_or_else(|| {
        bad(
            "no tokens file: set OMS_API_TOKENS_FILE (or tokens_file in the [api] section \
             of oms.toml) to the file oms serve reads, e.g. /etc/oms/tokens.toml",
        )
    })?;
    match c {
        TokenCommand::Add(a) => {
            let token = add(path, a)?;
            print(&format!("{token}\n"))?;
            tracing::info!(
                file = %path.display(),
                "token added: it is shown this once and cannot be read back; a running `oms \
                 serve` takes it when it reads the file again (within seconds)"
            );
        }
        TokenCommand::Ls(a) => {
            let list = tokens::read_or_empty(path).map_err(bad)?;
            print(&render(a.output.output, list.tokens()))?;
        }
        TokenCommand::Rm(a) => {
            tokens::update(path, |l| l.remove(&a.name).map_err(|e| e.to_string())).map_err(bad)?;
            tracing::info!(name = %a.name, file = %path.display(), "token removed");
        }
    }
    Ok(exit::OK)
}

/// Makes the token, adds its hash to the file; the token.
fn add(path: &std::path::Path, a: TokenAddArgs) -> anyhow::Result<String> {
    access::check_name(&a.name).map_err(bad)?;
    let scope = if a.all_sellers {
        SellerScope::All
    } else {
        SellerScope::from_texts(&a.seller).map_err(bad)?
    };
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no random bytes: {e}"))?;
    let token = access::new_token(random);
    let entry = NamedToken {
        name: a.name,
        hash: TokenHash::of(&token),
        scope,
        added: Some(timestamp::now()),
    };
    tokens::update(path, |l| {
        l.add(entry).map_err(|e| match e {
            TokensFileError::DuplicateName(n) => format!(
                "a token named {n:?} exists already: choose another name, or remove it first \
                 (`oms token rm {n}`)"
            ),
            e => e.to_string(),
        })
    })
    .map_err(bad)?;
    Ok(token)
}

fn render(fmt: OutputFormat, list: &[NamedToken]) -> String {
    let rows: Vec<[String; 3]> = list
        .iter()
        .map(|t| {
            [
                t.name.clone(),
                t.scope.to_string(),
                t.added.clone().unwrap_or_default(),
            ]
        })
        .collect();
    match fmt {
        OutputFormat::Json => {
            let v: Vec<_> = list
                .iter()
                .map(|t| json!({ "name": t.name, "sellers": t.scope.as_texts(), "added": t.added }))
                .collect();
            format!("{}\n", serde_json::Value::Array(v))
        }
        OutputFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record(["name", "sellers", "added"]);
            for r in &rows {
                let _ = w.write_record(r.iter().map(|c| crate::ui::csv_cell(c)));
            }
            String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
        }
        OutputFormat::Table if list.is_empty() => "No tokens.\n".to_owned(),
        OutputFormat::Table => {
            let mut t = Table::new();
            t.load_preset(UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_header(["name", "sellers", "added"]);
            for r in rows {
                t.add_row(r);
            }
            format!("{t}\n")
        }
    }
}
