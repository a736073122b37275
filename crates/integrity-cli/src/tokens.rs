//! `integrity tokens`: issue, list and revoke API keys as an operator.

use std::process::ExitCode;

use anyhow::{bail, Context};
use integrity_domain::time::format_millis;
use integrity_store::{AccountId, DatabaseUrl, Store, User};

#[derive(clap::Subcommand)]
pub enum TokensCommand {
    /// Issue a new key for a user and print it (shown this once).
    Create {
        #[arg(long)]
        account: String,
        /// E-mail of the user the key is for.
        #[arg(long)]
        user: String,
    },
    /// List the keys that are not revoked (never the keys themselves).
    List {
        #[arg(long)]
        account: String,
        /// Only this user's keys (e-mail).
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a key by its id; it stops working at once.
    Revoke {
        #[arg(long)]
        account: String,
        id: i64,
    },
}

pub async fn run(url: &DatabaseUrl, command: TokensCommand) -> anyhow::Result<ExitCode> {
    let store = Store::open(url).await?;
    match command {
        TokensCommand::Create { account, user } => {
            let account = find_account(&store, &account).await?;
            let user = find_user(&store, account, &user).await?;
            let (token, secret) = store.create_token(account, user.id).await?;
            println!("{secret}");
            eprintln!(
                "key {} for {} <{}>; it is not shown again",
                token.id, user.name, user.email
            );
        }
        TokensCommand::List { account, user } => {
            let account = find_account(&store, &account).await?;
            let users = match user {
                Some(email) => vec![find_user(&store, account, &email).await?],
                None => store.users(account).await?,
            };
            println!(
                "{:>6}  {:<10}  {:<24}  {:<24}  user",
                "id", "prefix", "created", "last used"
            );
            for user in users {
                for token in store.tokens(account, user.id).await?.unwrap_or_default() {
                    println!(
                        "{:>6}  {:<10}  {:<24}  {:<24}  {}",
                        token.id,
                        token.prefix,
                        format_millis(token.created_at),
                        token
                            .last_used_at
                            .map(format_millis)
                            .unwrap_or_else(|| "never".into()),
                        user.email
                    );
                }
            }
        }
        TokensCommand::Revoke { account, id } => {
            let account = find_account(&store, &account).await?;
            store
                .revoke_token(account, id)
                .await
                .with_context(|| format!("no key {id} in use in this account"))?;
            println!("key {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn find_account(store: &Store, subdomain: &str) -> anyhow::Result<AccountId> {
    store
        .account_by_subdomain(subdomain)
        .await?
        .with_context(|| format!("no account with subdomain {subdomain:?}"))
}

async fn find_user(store: &Store, account: AccountId, email: &str) -> anyhow::Result<User> {
    let email = email.to_lowercase();
    match store
        .users(account)
        .await?
        .into_iter()
        .find(|u| u.email == email)
    {
        Some(user) => Ok(user),
        None => bail!("no user with e-mail {email:?} in this account"),
    }
}
