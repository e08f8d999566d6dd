//! Questions to the operator (dialoguer), on stderr, only on a terminal. Off a terminal
//! nothing is asked: the caller gets `Refused` and says which flag to pass instead.

use std::io::IsTerminal;

/// Why a question got no yes.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// Not on a terminal: nobody can answer.
    #[error("not on a terminal: {0}")]
    NoTerminal(String),
    #[error("cannot ask: {0}")]
    Io(String),
}

/// True when a person can answer questions: stdin and stderr are terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

fn theme() -> dialoguer::theme::SimpleTheme {
    dialoguer::theme::SimpleTheme
}

/// Asks a yes/no question (default no).
///
/// # Errors
/// [`PromptError::NoTerminal`] off a terminal (`hint` says what to pass instead).
pub fn confirm(question: &str, hint: &str) -> Result<bool, PromptError> {
    if !interactive() {
        return Err(PromptError::NoTerminal(hint.to_owned()));
    }
    dialoguer::Confirm::with_theme(&theme())
        .with_prompt(question)
        .default(false)
        .interact()
        .map_err(|e| PromptError::Io(e.to_string()))
}

/// Asks the operator to type `expected` to go on (for what cannot be undone).
///
/// # Errors
/// [`PromptError::NoTerminal`] off a terminal.
pub fn confirm_typed(question: &str, expected: &str, hint: &str) -> Result<bool, PromptError> {
    if !interactive() {
        return Err(PromptError::NoTerminal(hint.to_owned()));
    }
    let typed: String = dialoguer::Input::with_theme(&theme())
        .with_prompt(format!("{question} Type {expected} to confirm"))
        .allow_empty(true)
        .interact_text()
        .map_err(|e| PromptError::Io(e.to_string()))?;
    Ok(typed.trim() == expected)
}

/// Asks for a missing value; `None` off a terminal.
///
/// # Errors
/// [`PromptError::Io`] when the terminal fails.
pub fn ask(prompt: &str) -> Result<Option<String>, PromptError> {
    if !interactive() {
        return Ok(None);
    }
    dialoguer::Input::<String>::with_theme(&theme())
        .with_prompt(prompt)
        .interact_text()
        .map(Some)
        .map_err(|e| PromptError::Io(e.to_string()))
}
