//! Who a request's bearer token is: the operator's `OMS_API_TOKEN` (every seller), or a
//! named token of the tokens file (its sellers), compared on their hashes in constant
//! time; anyone at all when no token is configured (loopback only). And the audit line
//! every bulkorder leaves: the token's name (never the token), the seller, the file,
//! the job id or why it was refused, the client's address.

use crate::domain::access::{SellerScope, TokenHash};
use crate::http::guard::{self, Unauthenticated};
use crate::http::tokens::LiveTokens;
use axum::http::HeaderMap;
use std::sync::Arc;

/// The name the audit line gives the operator's `OMS_API_TOKEN`.
pub const OPERATOR: &str = "OMS_API_TOKEN";
/// The name the audit line gives a caller when no token is configured.
const ANYONE: &str = "-";

/// Who is calling an `/api` route: the token's name and the sellers it may act for, and
/// the address the request came from.
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: Arc<str>,
    pub scope: SellerScope,
    pub client: String,
}

/// The tokens `oms serve` accepts.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    operator: Option<TokenHash>,
    file: Option<Arc<LiveTokens>>,
}

impl Keys {
    /// The operator's token (`OMS_API_TOKEN`) and the live tokens file, either or both.
    #[must_use]
    pub fn new(operator: Option<&str>, file: Option<Arc<LiveTokens>>) -> Self {
        Self {
            operator: operator.map(TokenHash::of),
            file,
        }
    }

    /// Whether `/api` is open to anyone (no token configured).
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.operator.is_none() && self.file.is_none()
    }

    /// Who the request's token is.
    ///
    /// # Errors
    /// [`Unauthenticated`] when tokens are configured and the request presents none of
    /// them.
    pub fn identify(&self, headers: &HeaderMap, client: String) -> Result<Caller, Unauthenticated> {
        if self.is_open() {
            return Ok(Caller {
                name: ANYONE.into(),
                scope: SellerScope::All,
                client,
            });
        }
        let presented = guard::presented(headers)?;
        // Both are always compared, so the time taken tells nothing of which matched.
        let operator = self.operator.is_some_and(|o| o.matches(&presented));
        let named = self.file.as_ref().and_then(|f| {
            f.current()
                .identify(&presented)
                .map(|t| (Arc::<str>::from(t.name.as_str()), t.scope.clone()))
        });
        match (operator, named) {
            (true, _) => Ok(Caller {
                name: OPERATOR.into(),
                scope: SellerScope::All,
                client,
            }),
            (false, Some((name, scope))) => Ok(Caller {
                name,
                scope,
                client,
            }),
            (false, None) => Err(Unauthenticated::Invalid),
        }
    }
}

/// What a bulkorder request said, as far as it was read.
#[derive(Debug, Default)]
pub(super) struct Attempt {
    pub seller: Option<String>,
    pub file: Option<String>,
}

fn or_dash(v: Option<&str>) -> &str {
    v.unwrap_or("-")
}

/// The audit line of a bulkorder that was queued.
pub(super) fn audit_accepted(caller: &Caller, a: &Attempt, job_id: &str) {
    tracing::info!(
        token = %caller.name,
        seller = or_dash(a.seller.as_deref()),
        file = or_dash(a.file.as_deref()),
        job_id,
        client = %caller.client,
        "bulkorder accepted"
    );
}

/// The audit line of a bulkorder that was refused (`reason`: the label of `/metrics`)
/// or that failed (a backend; `refused` false).
pub(super) fn audit_refused(caller: &Caller, a: &Attempt, refused: bool, reason: &str, why: &str) {
    if refused {
        tracing::info!(
            token = %caller.name,
            seller = or_dash(a.seller.as_deref()),
            file = or_dash(a.file.as_deref()),
            reason,
            error = why,
            client = %caller.client,
            "bulkorder refused"
        );
    } else {
        tracing::warn!(
            token = %caller.name,
            seller = or_dash(a.seller.as_deref()),
            file = or_dash(a.file.as_deref()),
            reason,
            error = why,
            client = %caller.client,
            "bulkorder failed"
        );
    }
}

/// The audit line of a bulkorder refused before its body was read: no token, or one
/// that matches none (which is not named: it is no token's).
pub(super) fn audit_unauthenticated(why: Unauthenticated, client: &str) {
    tracing::info!(
        token = "-",
        seller = "-",
        file = "-",
        reason = why.reason(),
        error = "a valid bearer token is required",
        client,
        "bulkorder refused"
    );
}
