//! Command line and environment configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// triage: screen proposed EU-China research collaborations.
#[derive(Debug, Parser)]
#[command(name = "triage", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address to listen on when serving.
    #[arg(
        long,
        env = "BIND_ADDR",
        global = true,
        default_value = "127.0.0.1:8080"
    )]
    pub bind: SocketAddr,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web application (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Import a register file into its list (the format is recognised from the content):
    /// the US Consolidated Screening List CSV, OpenSanctions FollowTheMoney JSON lines, or
    /// triage's curated register (TOML, or the CSV name,aliases,city,province,kind,flags,
    /// note,source,as_of). Only the entries of that list are replaced.
    ImportRegister {
        /// The file to import.
        file: PathBuf,
    },
    /// Fill the database with realistic demonstration cases (and demo accounts).
    SeedDemo {
        /// How many cases.
        #[arg(long, default_value_t = 200)]
        cases: usize,
        /// Seed of the random generator, for repeatable data.
        #[arg(long, default_value_t = 2021)]
        seed: u64,
    },
    /// Screen every submitted, returned and decided case against the register now, in
    /// this process, and report how many changed (a running server does the same in the
    /// background after every register change).
    Rescreen,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage institutions.
    #[command(subcommand)]
    Institution(InstitutionCommand),
    /// Work with rulebook versions.
    #[command(subcommand)]
    Rulebook(RulebookCommand),
}

#[derive(Debug, Subcommand)]
pub enum RulebookCommand {
    /// Evaluate every stored case under a candidate rulebook and report what would change
    /// (nothing is stored or activated).
    Diff {
        /// The candidate rulebook (TOML).
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// officer, reviewer or admin.
        #[arg(long)]
        role: String,
        /// The institution's name (officers only).
        #[arg(long)]
        institution: Option<String>,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum InstitutionCommand {
    /// Add an institution.
    Add {
        /// The institution's name.
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL connection URL. Without it, triage starts its own PostgreSQL under the data directory.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<Secret>,
    /// Where the embedded PostgreSQL keeps its files.
    #[arg(long, env = "TRIAGE_DATA_DIR", global = true, default_value = "data")]
    pub data_dir: PathBuf,
    /// A rulebook file to use instead of the built-in one.
    #[arg(long, env = "TRIAGE_RULEBOOK", global = true)]
    pub rulebook: Option<PathBuf>,
    /// The public address users reach triage at; https:// makes the session cookie Secure.
    #[arg(long, env = "PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Take the client address from X-Forwarded-For (only behind a proxy you control).
    #[arg(long, env = "TRUST_PROXY", global = true, default_value_t = false)]
    pub trust_proxy: bool,
    /// Mount /bench/baseline, the benchmark's reference route.
    #[arg(
        long,
        env = "TRIAGE_BENCH_ROUTES",
        global = true,
        default_value_t = false
    )]
    pub bench_routes: bool,
    /// The SMTP server mail is sent through: smtp://host:port (add ?tls=required for
    /// STARTTLS) or smtps://user:password@host:465. Without it, mail stays in the outbox
    /// for administrators to read.
    #[arg(long, env = "SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<Secret>,
    /// The sender of triage's mail.
    #[arg(
        long,
        env = "MAIL_FROM",
        global = true,
        default_value = "triage <triage@localhost>"
    )]
    pub mail_from: String,
    /// The hour (UTC, 0-23) at which daily digests are sent.
    #[arg(long, env = "MAIL_DIGEST_HOUR", global = true, default_value_t = 7, value_parser = clap::value_parser!(u8).range(0..24))]
    pub mail_digest_hour: u8,
    /// Connections in the pool of each app server.
    #[arg(
        long,
        env = "DATABASE_MAX_CONNECTIONS",
        global = true,
        default_value_t = 10
    )]
    pub max_connections: u32,
}

/// A value that never appears in logs or debug output (a URL may carry a password).
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}
