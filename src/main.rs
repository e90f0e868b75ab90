//! The `helpdesk` binary: parses the command line and runs one named step per command.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use helpdesk::archive::{self, Kind};
use helpdesk::cli::{self, Command};
use helpdesk::config::Config;
use helpdesk::domain::Role;
use helpdesk::{control, logging, server};

/// mimalloc instead of glibc's malloc: the panel's pages, bincode records and Telegram updates
/// are many small short-lived allocations, and glibc's free-list upkeep (`malloc_consolidate`,
/// `_int_free`) was a tenth of the ticket list page's CPU (benches/panel_load.rs). Built with
/// `no_thp`: mimalloc otherwise asks for transparent huge pages on its arenas, which added
/// ≈ 12 MiB to the idle RSS (45 → 33 MiB measured with `MIMALLOC_ALLOW_THP=0`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    /// mimalloc's option setter (`mimalloc.h`), linked in with the allocator.
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_t`.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// One-shot commands (imports, restores, exports) return freed memory to the system at once
/// instead of after mimalloc's 10 ms delay: their peak is what counts (a 100,000-offer import
/// applied in 68 → 62 MiB, benches/import_memory.rs). `serve` keeps the default, which reuses
/// freed pages without a fault per page under load.
fn purge_freed_memory_at_once() {
    // SAFETY: sets one integer option; mimalloc reads it whenever it purges.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

/// Self-hosted office helpdesk: Telegram bot and Mini App, LAN web panel, consumables stock.
#[derive(Parser, Debug)]
#[command(name = "helpdesk", version, about, propagate_version = true)]
struct Cli {
    /// Config file (TOML). Without it, built-in defaults (see config.toml) and HELPDESK_* variables.
    #[arg(long, global = true, env = "HELPDESK_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run everything: web panel, /healthz and /metrics, control channel (and the bot, jobs and
    /// delivery as they are added). Stops cleanly on SIGINT/SIGTERM.
    Serve {
        /// Listen address, overriding web.listen (e.g. 127.0.0.1:8080).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Data folder, overriding storage.data_dir.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Validate the config; unknown keys and bad values are named with their line.
    CheckConfig,
    /// Staff accounts.
    Admin {
        #[command(subcommand)]
        action: AdminCmd,
    },
    /// FAQ entries.
    Faq {
        #[command(subcommand)]
        action: FaqCmd,
    },
    /// Stock of consumables.
    Stock {
        #[command(subcommand)]
        action: StockCmd,
    },
    /// Write a snapshot archive; prints its path as the last line.
    Snapshot {
        #[arg(long, default_value = "manual", value_parser = parse_kind)]
        kind: Kind,
        /// Data folder, overriding storage.data_dir.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Check an archive's manifest and checksums.
    Verify { archive: PathBuf },
    /// Excel exports.
    Export {
        #[command(subcommand)]
        what: ExportCmd,
    },
    /// Send a test e-mail through the configured SMTP server and show its answer.
    MailTest {
        #[arg(long, value_name = "ADDRESS")]
        to: String,
    },
    /// Restore an archive into a missing or empty data folder.
    Restore {
        archive: PathBuf,
        /// Target folder (must be missing or empty); defaults to storage.data_dir.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum AdminCmd {
    /// Create a staff account; the password is read from the first line of standard input.
    Add {
        #[arg(long)]
        login: String,
        #[arg(long, value_parser = parse_staff_role)]
        role: Role,
        /// Telegram user id to link, so the account acts in the staff group and private chat.
        #[arg(long, value_name = "N")]
        telegram_id: Option<i64>,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Subcommand, Debug)]
enum ExportCmd {
    /// Every ticket created in a range of days (days in ui.timezone, both ends inclusive, either
    /// may be left out) as an XLSX workbook: number (#N), created, status, priority, category,
    /// requester, department, assignee, subject, first response, resolved, rating.
    Tickets {
        /// The workbook to write; replaced if it exists.
        #[arg(long, value_name = "FILE.xlsx")]
        out: PathBuf,
        /// First day (YYYY-MM-DD).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        from: Option<chrono::NaiveDate>,
        /// Last day (YYYY-MM-DD), included.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        to: Option<chrono::NaiveDate>,
    },
}

fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    helpdesk::service::reports::parse_day("date", s)
        .map_err(|_| "must be a date like 2026-03-01 (YYYY-MM-DD)".into())
}

#[derive(Subcommand, Debug)]
enum FaqCmd {
    /// Import entries from CSV (question,answer[,alternatives] with a header; alternatives
    /// separated by |) or TOML ([[faq]] question/answer/alternatives).
    Import { file: PathBuf },
}

#[derive(Subcommand, Debug)]
enum StockCmd {
    /// Import balances from 1C CommerceML (offers.xml, with import.xml beside it), CSV or XLSX
    /// and print what changes. Matching is by SKU or the mapping table (panel: Stock → Import →
    /// Mapping); items the files do not mention keep their quantity. Applied in one
    /// transaction as movements with reason "import"; see docs/stock-import.md.
    Import {
        /// The files: offers.xml [import.xml], or .csv / .xlsx tables (a header row naming the
        /// SKU and quantity columns, e.g. Артикул;Наименование;Остаток or sku,name,quantity).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Show the difference only; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Create stock items for codes that match nothing (else they are listed and left out).
        #[arg(long)]
        create_new: bool,
        /// List every line of the difference (else the first 50 of each kind).
        #[arg(long)]
        full: bool,
    },
    /// Pull balances from 1C over its standard OData interface (the [onec] section of the
    /// config: publication address, user, balance register) and apply them like an import:
    /// matched by article through the mapping table, movements with reason "import", unknown
    /// codes listed. The scheduled pull (onec.interval_minutes) does the same inside `serve`.
    #[command(name = "pull-1c")]
    Pull1c {
        /// Show the difference only; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// List every line of the difference (else the first 50 of each kind).
        #[arg(long)]
        full: bool,
    },
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    Kind::parse(s).ok_or_else(|| "must be manual, daily, monthly or yearly".into())
}

fn parse_staff_role(s: &str) -> Result<Role, String> {
    match Role::parse(s) {
        Some(r) if r.is_staff() => Ok(r),
        _ => Err("must be admin, operator, storekeeper or superadmin".into()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Cmd::Serve { .. }) {
        purge_freed_memory_at_once();
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    Ok(Config::load(path)?)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config_path = cli.config.as_deref();
    match cli.command {
        Cmd::Serve { listen, data_dir } => {
            let mut config = load_config(config_path)?;
            if let Some(l) = listen {
                config.web.listen = l.parse().map_err(|_| {
                    anyhow::anyhow!("--listen: '{l}' is not an address like 127.0.0.1:8080")
                })?;
            }
            if let Some(d) = data_dir {
                config.storage.data_dir = d;
            }
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(server::run(config))
        }
        Cmd::CheckConfig => {
            let _log = logging::init_cli();
            let config = load_config(config_path)?;
            for w in &config.warnings {
                eprintln!("warning: {w}");
            }
            match &config.source {
                Some(p) => println!("config OK: {}", p.display()),
                None => println!("config OK: built-in defaults (no --config given)"),
            }
            Ok(())
        }
        Cmd::Admin {
            action:
                AdminCmd::Add {
                    login,
                    role,
                    telegram_id,
                    password_stdin: _,
                },
        } => {
            let _log = logging::init_cli();
            let config = load_config(config_path)?;
            let password = read_password()?;
            with_data(
                &config,
                None,
                Command::AdminAdd {
                    login,
                    role,
                    telegram_id,
                    password,
                },
            )
        }
        Cmd::Faq {
            action: FaqCmd::Import { file },
        } => {
            let _log = logging::init_cli();
            let config = load_config(config_path)?;
            let entries = cli::read_faq_file(&file).map_err(anyhow::Error::msg)?;
            with_data(&config, None, Command::FaqImport { entries })
        }
        Cmd::Stock {
            action:
                StockCmd::Import {
                    files,
                    dry_run,
                    create_new,
                    full,
                },
        } => {
            let _log = logging::init_cli();
            let config = load_config(config_path)?;
            let cmd = read_stock_files(&files, dry_run, create_new, full)?;
            with_data(&config, None, cmd)
        }
        Cmd::Stock {
            action: StockCmd::Pull1c { dry_run, full },
        } => {
            let _log = logging::init_cli();
            let config = load_config(config_path)?;
            let Some(onec) = &config.onec else {
                anyhow::bail!(
                    "the 1C pull is off: set onec.url (the address of the 1C web publication), \
                     onec.username and onec.password (or HELPDESK_ONEC_PASSWORD) in the config"
                );
            };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let pulled = rt
                .block_on(helpdesk::onec::fetch(onec))
                .map_err(anyhow::Error::msg)?;
            drop(rt);
            eprintln!("{}", pulled.summary());
            let cmd = Command::StockImport {
                rows: pulled.rows,
                options: helpdesk::onec::import_options(),
                dry_run,
                full,
                progress: false,
            };
            with_data(&config, None, cmd)
        }
        Cmd::Snapshot { kind, data_dir } => {
            let _log = logging::init_cli();
            let config = load_config(config_path)?;
            with_data(&config, data_dir.as_deref(), Command::Snapshot { kind })
        }
        Cmd::Verify { archive: path } => {
            let _log = logging::init_cli();
            let m = archive::verify(&path)?;
            let rows: u64 = m.tables.values().map(|t| t.rows).sum();
            println!(
                "OK: {} — {} archive of {}, helpdesk {}, {} tables, {rows} rows, every checksum matches",
                path.display(),
                m.kind,
                m.created_at,
                m.app_version,
                m.tables.len()
            );
            Ok(())
        }
        Cmd::Export {
            what: ExportCmd::Tickets { out, from, to },
        } => {
            let _log = logging::init_cli();
            let config = load_config(config_path)?;
            if let (Some(f), Some(t)) = (from, to)
                && f > t
            {
                anyhow::bail!("--from {f} is after --to {t}");
            }
            let tz = config.ui.timezone;
            // Absolute: a running server writes the file when it holds the database.
            let out = std::path::absolute(&out)
                .map_err(|e| anyhow::anyhow!("--out {}: {e}", out.display()))?;
            let day = helpdesk::service::reports::day_start;
            with_data(
                &config,
                None,
                Command::ExportTickets {
                    out,
                    from: from.map(|d| day(d, tz)),
                    to: to.map(|d| day(d + chrono::Days::new(1), tz)),
                    tz: tz.name().to_string(),
                },
            )
        }
        Cmd::MailTest { to } => {
            let _log = logging::init_cli();
            let config = load_config(config_path)?;
            if !config.smtp.enabled {
                anyhow::bail!(
                    "e-mail is off: set smtp.enabled = true (and smtp.host/port/security) in the config"
                );
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let text = "This is a test message from helpdesk. / Это тестовое письмо helpdesk.";
            // The transport's pool needs the runtime: build it inside.
            let sent = rt.block_on(async {
                let mailer = helpdesk::notify::Mailer::new(&config.smtp).map_err(|e| (true, e))?;
                mailer
                    .send(&to, "helpdesk: test e-mail", text, None, &[])
                    .await
            });
            match sent {
                Ok(answer) => {
                    println!("sent to {to}; the server answered: {answer}");
                    Ok(())
                }
                Err((_, e)) => anyhow::bail!(
                    "the SMTP server {}:{} refused or failed: {e}",
                    config.smtp.host,
                    config.smtp.port
                ),
            }
        }
        Cmd::Restore {
            archive: path,
            data_dir,
        } => {
            let _log = logging::init_cli();
            let config = load_config(config_path)?;
            let dir = cli::data_dir(&config, data_dir.as_deref());
            let r = archive::restore(&path, &dir)?;
            for (t, n) in &r.rows {
                println!("  {t}: {n} rows");
            }
            println!(
                "restored {} ({} archive of {}) into {}; indexes rebuilt",
                path.display(),
                r.manifest.kind,
                r.manifest.created_at,
                dir.display()
            );
            Ok(())
        }
    }
}

/// Runs a data-changing command: through a running server's control socket when there is one,
/// else directly on the store.
fn with_data(config: &Config, data_dir: Option<&Path>, cmd: Command) -> anyhow::Result<()> {
    let dir = cli::data_dir(config, data_dir);
    if let Some(resp) = control::call(&dir, &cmd).map_err(anyhow::Error::msg)? {
        return match resp.error {
            None if resp.ok => {
                for l in resp.lines {
                    println!("{l}");
                }
                Ok(())
            }
            e => Err(anyhow::anyhow!(e.unwrap_or_else(|| {
                "the running server refused the command".into()
            }))),
        };
    }
    let mut cmd = cmd;
    if let Command::StockImport { progress, .. } = &mut cmd {
        *progress = true;
    }
    let mut config = config.clone();
    config.storage.data_dir = dir.clone();
    server::ensure_writable(&dir)?;
    let svc = server::open_service(&config).map_err(|e| {
        anyhow::anyhow!(
            "{e} (its control socket {} does not answer)",
            control::socket_path(&dir).display()
        )
    })?;
    let lines = cli::execute(&svc, &dir, cmd).map_err(anyhow::Error::msg)?;
    for l in lines {
        println!("{l}");
    }
    Ok(())
}

/// Reads stock import files (progress on stderr) into the command that applies them.
fn read_stock_files(
    files: &[PathBuf],
    dry_run: bool,
    create_new: bool,
    full: bool,
) -> anyhow::Result<Command> {
    use helpdesk::import::{self, Source};
    let sources: Vec<Source> = files.iter().map(|p| Source::Path(p)).collect();
    let mut shown = 0;
    let parsed = import::parse(&sources, &mut |done, total| {
        let pct = (done * 10).checked_div(total).unwrap_or(10);
        if total >= 1 << 20 && pct > shown {
            shown = pct;
            eprintln!(
                "reading: {}% ({} of {} MiB)",
                pct * 10,
                done >> 20,
                total >> 20
            );
        }
    })
    .map_err(anyhow::Error::msg)?;
    for f in &parsed.formats {
        eprintln!("read {f}");
    }
    if parsed.partial {
        eprintln!("the 1C package holds changes only: items it does not list keep their quantity");
    }
    if parsed.without_quantity > 0 {
        eprintln!(
            "{} offers carry no quantity (prices only) and are left out",
            parsed.without_quantity
        );
    }
    let label = files
        .iter()
        .map(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Command::StockImport {
        rows: parsed.balances,
        options: helpdesk::service::ImportOptions {
            create_new,
            label: label.chars().take(500).collect(),
            files: parsed.files,
            ignore_unknown_zero: false,
        },
        dry_run,
        full,
        progress: false,
    })
}

fn read_password() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin().take(4096).read_to_string(&mut s)?;
    let line = s.lines().next().unwrap_or("").to_string();
    if line.is_empty() {
        anyhow::bail!(
            "no password on standard input (pipe it in: echo 'secret' | helpdesk admin add … --password-stdin)"
        );
    }
    Ok(line)
}
