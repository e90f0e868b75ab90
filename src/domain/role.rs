//! Roles, the actions they may take, and who did something (the actor of an audit entry).
//!
//! One table — [`allowed`] — answers "may this role do this"; the service layer asks it before
//! every change, so a button hidden in a menu is never the only guard.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::ticket::Category;

/// What a person is to helpdesk. Requesters are `User`; staff accounts have one of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Operator,
    Storekeeper,
    Admin,
    Superadmin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::User,
        Role::Operator,
        Role::Storekeeper,
        Role::Admin,
        Role::Superadmin,
    ];
    /// Roles a staff account can be given.
    pub const STAFF: [Role; 4] = [
        Role::Operator,
        Role::Storekeeper,
        Role::Admin,
        Role::Superadmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Operator => "operator",
            Role::Storekeeper => "storekeeper",
            Role::Admin => "admin",
            Role::Superadmin => "superadmin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn is_staff(self) -> bool {
        self != Role::User
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that needs a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// File a ticket for oneself.
    CreateOwnTicket,
    /// File a ticket on behalf of a caller (staff).
    CreateTicketForOther,
    ViewOwnTickets,
    /// Confirm, reopen or rate one's own ticket.
    ActOnOwnTicket,
    ViewAllTickets,
    TakeTicket,
    AssignTicket,
    ReplyTicket,
    NoteTicket,
    ResolveTicket,
    RejectTicket,
    ReopenTicket,
    ChangePriority,
    ViewStock,
    /// Receipts, adjustments, item edits and imports.
    ManageStock,
    /// Issue consumables against a ticket.
    IssueStock,
    ManageFaq,
    ViewRequesters,
    ManageRequesters,
    ManageStaff,
    /// Grant or take the superadmin role.
    ManageSuperadmins,
    Broadcast,
    EditSettings,
    ViewAudit,
    ViewReports,
    ManageArchives,
    ManageApiTokens,
    /// Raise the urgent ("server room") alarm.
    UrgentCall,
}

impl Action {
    pub const ALL: [Action; 28] = [
        Action::CreateOwnTicket,
        Action::CreateTicketForOther,
        Action::ViewOwnTickets,
        Action::ActOnOwnTicket,
        Action::ViewAllTickets,
        Action::TakeTicket,
        Action::AssignTicket,
        Action::ReplyTicket,
        Action::NoteTicket,
        Action::ResolveTicket,
        Action::RejectTicket,
        Action::ReopenTicket,
        Action::ChangePriority,
        Action::ViewStock,
        Action::ManageStock,
        Action::IssueStock,
        Action::ManageFaq,
        Action::ViewRequesters,
        Action::ManageRequesters,
        Action::ManageStaff,
        Action::ManageSuperadmins,
        Action::Broadcast,
        Action::EditSettings,
        Action::ViewAudit,
        Action::ViewReports,
        Action::ManageArchives,
        Action::ManageApiTokens,
        Action::UrgentCall,
    ];
}

/// May `role` perform `action`? For ticket work, `category` narrows what a storekeeper may do:
/// they work cartridge orders only.
pub fn allowed(role: Role, action: Action, category: Option<Category>) -> bool {
    use Action as A;
    match role {
        Role::Superadmin => true,
        Role::Admin => action != A::ManageSuperadmins,
        Role::Operator => matches!(
            action,
            A::CreateOwnTicket
                | A::CreateTicketForOther
                | A::ViewOwnTickets
                | A::ActOnOwnTicket
                | A::ViewAllTickets
                | A::TakeTicket
                | A::AssignTicket
                | A::ReplyTicket
                | A::NoteTicket
                | A::ResolveTicket
                | A::RejectTicket
                | A::ReopenTicket
                | A::ChangePriority
                | A::ViewStock
                | A::IssueStock
                | A::ManageFaq
                | A::ViewRequesters
                | A::ViewReports
                | A::UrgentCall
        ),
        Role::Storekeeper => match action {
            A::CreateOwnTicket | A::ViewOwnTickets | A::ActOnOwnTicket | A::ViewAllTickets => true,
            A::ViewStock | A::ManageStock | A::IssueStock | A::ViewReports | A::UrgentCall => true,
            A::TakeTicket | A::ReplyTicket | A::NoteTicket | A::ResolveTicket | A::RejectTicket => {
                category.is_none_or(|c| c == Category::CartridgeOrder)
            }
            _ => false,
        },
        Role::User => matches!(
            action,
            A::CreateOwnTicket | A::ViewOwnTickets | A::ActOnOwnTicket | A::UrgentCall
        ),
    }
}

/// Who did something: recorded on every timeline entry and audit row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// helpdesk itself (jobs, delivery).
    System,
    /// A command-line call on the server.
    Cli,
    /// A staff account, by login.
    Staff { login: String, role: Role },
    /// A requester, by Telegram id.
    Requester { tg_id: i64 },
    /// An API token, by its name.
    Api { token: String },
}

impl Actor {
    /// The role this actor acts with.
    pub fn role(&self) -> Role {
        match self {
            Actor::System | Actor::Cli => Role::Superadmin,
            Actor::Staff { role, .. } => *role,
            Actor::Requester { .. } => Role::User,
            Actor::Api { .. } => Role::Admin,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::System => f.write_str("system"),
            Actor::Cli => f.write_str("cli"),
            Actor::Staff { login, .. } => write!(f, "staff:{login}"),
            Actor::Requester { tg_id } => write!(f, "tg:{tg_id}"),
            Actor::Api { token } => write!(f, "api:{token}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;

    #[test]
    fn superadmin_may_do_everything_admin_all_but_superadmins() {
        for a in Action::ALL {
            assert!(allowed(Role::Superadmin, a, None));
            assert_eq!(
                allowed(Role::Admin, a, None),
                a != A::ManageSuperadmins,
                "{a:?}"
            );
        }
    }

    #[test]
    fn requesters_only_touch_their_own_things() {
        let yes = [
            A::CreateOwnTicket,
            A::ViewOwnTickets,
            A::ActOnOwnTicket,
            A::UrgentCall,
        ];
        for a in Action::ALL {
            assert_eq!(allowed(Role::User, a, None), yes.contains(&a), "{a:?}");
        }
    }

    #[test]
    fn operator_works_tickets_but_not_stock_or_staff() {
        for a in [
            A::TakeTicket,
            A::AssignTicket,
            A::ReplyTicket,
            A::RejectTicket,
            A::ManageFaq,
        ] {
            assert!(
                allowed(Role::Operator, a, Some(Category::Hardware)),
                "{a:?}"
            );
        }
        for a in [
            A::ManageStock,
            A::ManageStaff,
            A::ManageSuperadmins,
            A::Broadcast,
            A::EditSettings,
            A::ViewAudit,
            A::ManageArchives,
            A::ManageApiTokens,
            A::ManageRequesters,
        ] {
            assert!(!allowed(Role::Operator, a, None), "{a:?}");
        }
    }

    #[test]
    fn storekeeper_works_cartridge_orders_only() {
        for a in [
            A::TakeTicket,
            A::ReplyTicket,
            A::ResolveTicket,
            A::RejectTicket,
        ] {
            assert!(
                allowed(Role::Storekeeper, a, Some(Category::CartridgeOrder)),
                "{a:?}"
            );
            assert!(
                !allowed(Role::Storekeeper, a, Some(Category::Network)),
                "{a:?}"
            );
        }
        assert!(allowed(Role::Storekeeper, A::ManageStock, None));
        assert!(!allowed(
            Role::Storekeeper,
            A::AssignTicket,
            Some(Category::CartridgeOrder)
        ));
        assert!(!allowed(Role::Storekeeper, A::ManageFaq, None));
        assert!(!allowed(Role::Storekeeper, A::ManageStaff, None));
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
        assert!(!Role::User.is_staff());
        assert!(Role::STAFF.iter().all(|r| r.is_staff()));
    }

    #[test]
    fn actors_display_and_role() {
        let a = Actor::Staff {
            login: "ivan".into(),
            role: Role::Operator,
        };
        assert_eq!(a.to_string(), "staff:ivan");
        assert_eq!(a.role(), Role::Operator);
        assert_eq!(Actor::Requester { tg_id: 42 }.role(), Role::User);
    }
}
