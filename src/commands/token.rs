//! `oms token add | ls | rm`: the seller-scoped API tokens of `oms serve`, in the
//! tokens file (`OMS_API_TOKENS_FILE`, `[api] tokens_file`). `add` prints the new token
//! once (on stdout, nothing else there); the file keeps only its SHA-256.

use super::{bad, exit, print, view};
use crate::cli::{TokenAddArgs, TokenCommand};
use crate::config::Config;
use crate::domain::access::{self, NamedToken, SellerScope, TokenHash, TokensFileError};
use crate::domain::timestamp;
use crate::http::tokens;
use crate::ui;

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
            print(&ui::tokens(&view(a.output.output), list.tokens()))?;
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
