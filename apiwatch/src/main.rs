//! The apiwatch command: thin wiring of the library crates (see ARCHITECTURE.md).
#![forbid(unsafe_code)]

mod cli;
mod client;
mod config;
mod demo;
mod demo_live;
mod formats;
mod gateway_cmd;
mod input;
mod key;
mod live;
mod pipeline;
mod replay;
mod retro;
mod rules_cmd;
mod search_cmd;
mod store_cmd;
mod summary;

use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit statuses, as documented in the README.
pub mod exit {
    /// Done, alerts or not.
    pub const OK: u8 = 0;
    /// Bad usage or configuration.
    pub const USAGE: u8 = 1;
    /// An input could not be read.
    pub const INPUT: u8 = 2;
    /// `verify` found the event store altered.
    pub const TAMPERED: u8 = 3;
}

fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(c) => c,
        Err(code) => return ExitCode::from(code),
    };
    match cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Errors carry file/line/field context; they never carry event content, and what
            // they print is escaped for the terminal.
            // Escaped line by line, so a multi-line report keeps its lines.
            let text = format!("{e:#}");
            let lines: Vec<_> = text.lines().map(apiwatch_core::escape::for_terminal).collect();
            eprintln!("error: {}", lines.join("\n"));
            ExitCode::from(exit::USAGE)
        }
    }
}
