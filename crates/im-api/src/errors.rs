//! The one place where failures become HTTP answers: the status of each core
//! error class on each route, the message prefix of each route (spec
//! rest-api.md §2.9, §3.6, §4.1), and the answers of the blocking-call guard.

use axum::http::StatusCode;
use axum::response::Response;
use im_core::ImError;

use crate::negotiate;

/// Why a core call gave no result.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The operation failed.
    #[error("{0}")]
    Core(#[from] ImError),
    /// `REST_BLOCKING_CALL_TIMEOUT` expired (the operation may still finish).
    #[error("Operation timed out")]
    Timeout,
    /// The operation panicked: a bug, reported without details.
    #[error("Internal server error")]
    Crashed,
}

/// The routes, whose error answers differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// GET /infrastructures
    List,
    /// POST /infrastructures
    Create,
    /// PUT /infrastructures
    Import,
    /// GET /infrastructures/{id}
    InfInfo,
    /// DELETE /infrastructures/{id}
    Destroy,
    /// GET /infrastructures/{id}/{prop}
    InfProp,
    /// POST /infrastructures/{id}
    Add,
    /// PUT /infrastructures/{id}/reconfigure
    Reconfigure,
    /// PUT /infrastructures/{id}/{op}
    InfOp(&'static str),
    /// POST /infrastructures/{id}/authorization
    ChangeAuth,
    /// GET …/vms/{vm}
    VmInfo,
    /// DELETE …/vms/{vm}
    Remove,
    /// PUT …/vms/{vm}
    Alter,
    /// GET …/vms/{vm}/{prop}
    VmProp,
    /// PUT …/vms/{vm}/{op}
    VmOp(&'static str),
    /// PUT …/disks/{n}/snapshot
    Snapshot,
    /// GET /clouds/{id}/{param}
    Clouds,
    /// GET /stats
    Stats,
    /// GET /version
    Version,
}

/// The error classes a route's handler catches by name (the others are its
/// generic `except Exception`: 400 with the generic prefix).
#[derive(Clone, Copy)]
struct Catches {
    /// `InvaliddUserException` → 401.
    invalid_user: bool,
    /// Infrastructure not found / deleted → 404, unauthorized → 403.
    infrastructure: bool,
    /// VM not found / deleted → 404.
    vm: bool,
    /// `DisabledFunctionException` → 403.
    disabled: bool,
    /// `IncorrectStateException` → 409.
    state: bool,
}

const NONE: Catches = Catches {
    invalid_user: false,
    infrastructure: false,
    vm: false,
    disabled: false,
    state: false,
};

impl Route {
    /// The message prefix of the route's error answers.
    pub fn prefix(self) -> String {
        match self {
            Route::List => "Error Getting Inf. List: ".into(),
            Route::Create => "Error Creating Inf.: ".into(),
            Route::Import => "Error Importing Inf.: ".into(),
            Route::InfInfo => "Error Getting Inf. info: ".into(),
            Route::Destroy => "Error Destroying Inf: ".into(),
            Route::InfProp => "Error Getting Inf. prop: ".into(),
            Route::Add => "Error Adding resources: ".into(),
            Route::Reconfigure => "Error reconfiguring infrastructure: ".into(),
            Route::InfOp(op) => format!("Error in {op} operation: "),
            Route::ChangeAuth => "Error modifying infrastructure owner: ".into(),
            Route::VmInfo => "Error Getting VM. info: ".into(),
            Route::Remove => "Error Removing resources: ".into(),
            Route::Alter => "Error modifying resources: ".into(),
            Route::VmProp => "Error Getting VM. property: ".into(),
            Route::VmOp(op) => format!("Error in {op} op in VM: "),
            Route::Snapshot => "Error creating snapshot: ".into(),
            Route::Clouds => "Error getting cloud info: ".into(),
            Route::Stats => "Error getting stats: ".into(),
            Route::Version => "Error getting IM version: ".into(),
        }
    }

    /// The prefix of the generic handler (`except Exception`).
    // IM-compat: the reference writes `VM info` / `VM property` here and
    // `VM. info` / `VM. property` in its specific handlers.
    pub fn generic_prefix(self) -> String {
        match self {
            Route::VmInfo => "Error Getting VM info: ".into(),
            Route::VmProp => "Error Getting VM property: ".into(),
            other => other.prefix(),
        }
    }

    /// Whether the route's handler turns the HTTP errors raised inside it
    /// (415 from negotiation, 504 from the guard) into `400 <prefix><code>: <msg>`,
    /// as five of the reference's handlers do (§2.9).
    pub fn wraps_http_errors(self) -> bool {
        matches!(
            self,
            Route::List | Route::Import | Route::InfInfo | Route::VmInfo | Route::Version
        )
    }

    fn catches(self) -> Catches {
        let inf = Catches {
            infrastructure: true,
            ..NONE
        };
        match self {
            Route::List | Route::Clouds => Catches {
                invalid_user: true,
                ..NONE
            },
            Route::Create | Route::Import => Catches {
                invalid_user: true,
                disabled: true,
                ..NONE
            },
            Route::InfInfo | Route::InfProp => inf,
            Route::Destroy => Catches {
                disabled: true,
                state: true,
                ..inf
            },
            Route::Add | Route::Reconfigure | Route::InfOp(_) | Route::ChangeAuth => Catches {
                disabled: true,
                ..inf
            },
            Route::VmInfo | Route::VmProp => Catches { vm: true, ..inf },
            Route::Remove | Route::Alter | Route::VmOp(_) | Route::Snapshot => Catches {
                vm: true,
                disabled: true,
                ..inf
            },
            Route::Stats | Route::Version => NONE,
        }
    }
}

/// The answer for a failed core call on a route.
pub fn answer(route: Route, f: &Failure, accept: &[String]) -> Response {
    let e = match f {
        Failure::Core(e) => e,
        Failure::Timeout => {
            return http_error(
                route,
                StatusCode::GATEWAY_TIMEOUT,
                "Operation timed out",
                accept,
            );
        }
        Failure::Crashed => {
            return negotiate::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("{}Internal server error", route.generic_prefix()),
                accept,
            );
        }
    };
    use ImError as E;
    let c = route.catches();
    let specific = match e {
        E::InvalidUser(_) if c.invalid_user => Some(StatusCode::UNAUTHORIZED),
        E::IncorrectInfrastructure | E::DeletedInfrastructure if c.infrastructure => {
            Some(StatusCode::NOT_FOUND)
        }
        E::UnauthorizedUser if c.infrastructure => Some(StatusCode::FORBIDDEN),
        // IM-compat: GET /infrastructures answers 400 for an unauthorized user.
        E::UnauthorizedUser if route == Route::List => Some(StatusCode::BAD_REQUEST),
        E::IncorrectVm | E::DeletedVm if c.vm => Some(StatusCode::NOT_FOUND),
        E::DisabledFunction if c.disabled => Some(StatusCode::FORBIDDEN),
        E::IncorrectState if c.state => Some(StatusCode::CONFLICT),
        _ => None,
    };
    let (status, prefix) = match (specific, e) {
        // IM-compat: the reference's plural in this one message.
        (Some(s), E::IncorrectInfrastructure) if route == Route::ChangeAuth => {
            (s, "Error modifying infrastructure owners: ".to_string())
        }
        (Some(s), _) => (s, route.prefix()),
        // IM-compat deviation: a database failure is the server's, not the
        // caller's: 503 instead of the reference's generic 400.
        (None, E::Store(msg)) => {
            tracing::error!(?route, "database error: {msg}");
            (StatusCode::SERVICE_UNAVAILABLE, route.generic_prefix())
        }
        (None, _) => (StatusCode::BAD_REQUEST, route.generic_prefix()),
    };
    negotiate::error(status, &format!("{prefix}{e}"), accept)
}

/// An HTTP error raised inside a handler (415 from `format_output`, 504 from
/// the guard): as is, or wrapped into `400 <prefix><code>: <msg>` on the
/// routes that do that.
pub fn http_error(route: Route, status: StatusCode, msg: &str, accept: &[String]) -> Response {
    if route.wraps_http_errors() {
        negotiate::error(
            StatusCode::BAD_REQUEST,
            &format!("{}{}: {msg}", route.generic_prefix(), status.as_u16()),
            accept,
        )
    } else {
        negotiate::error(status, msg, accept)
    }
}

/// The 415 of a failed `Accept` negotiation on a route.
pub fn unsupported_accept(route: Route, msg: &str, accept: &[String]) -> Response {
    http_error(route, StatusCode::UNSUPPORTED_MEDIA_TYPE, msg, accept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_and_body(route: Route, e: ImError) -> (u16, String) {
        let r = answer(route, &Failure::Core(e), &[]);
        let status = r.status().as_u16();
        let body = futures_body(r);
        (status, body)
    }

    fn futures_body(r: Response) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let b = axum::body::to_bytes(r.into_body(), 1 << 20)
                .await
                .expect("body");
            String::from_utf8(b.to_vec()).expect("utf-8")
        })
    }

    #[test]
    fn invalid_credentials_are_401_only_on_list_create_import_and_clouds() {
        for route in [Route::List, Route::Create, Route::Import, Route::Clouds] {
            assert_eq!(
                status_and_body(route, ImError::InvalidUser("x".into())).0,
                401
            );
        }
        for route in [Route::InfInfo, Route::InfProp, Route::Stats, Route::VmInfo] {
            assert_eq!(
                status_and_body(route, ImError::InvalidUser("x".into())).0,
                400
            );
        }
    }

    #[test]
    fn generic_errors_of_vm_reads_use_the_prefix_without_a_dot() {
        assert_eq!(
            status_and_body(Route::VmInfo, ImError::failed("boom")),
            (400, "Error Getting VM info: boom".into())
        );
        assert_eq!(
            status_and_body(Route::VmInfo, ImError::IncorrectVm),
            (404, "Error Getting VM. info: Invalid VM ID".into())
        );
        assert_eq!(
            status_and_body(Route::VmInfo, ImError::DisabledFunction),
            (
                400,
                "Error Getting VM info: Function currently disabled.".into()
            )
        );
    }

    #[test]
    fn owners_changes_on_unknown_infrastructures_use_the_plural() {
        assert_eq!(
            status_and_body(Route::ChangeAuth, ImError::IncorrectInfrastructure),
            (
                404,
                "Error modifying infrastructure owners: Invalid infrastructure ID or access not granted."
                    .into()
            )
        );
        assert_eq!(
            status_and_body(Route::ChangeAuth, ImError::DeletedInfrastructure),
            (
                404,
                "Error modifying infrastructure owner: Deleted infrastructure.".into()
            )
        );
    }

    #[test]
    fn disabled_functions_are_403_where_caught_and_400_elsewhere() {
        assert_eq!(
            status_and_body(Route::Destroy, ImError::DisabledFunction).0,
            403
        );
        assert_eq!(
            status_and_body(Route::InfProp, ImError::DisabledFunction),
            (
                400,
                "Error Getting Inf. prop: Function currently disabled.".into()
            )
        );
    }

    #[test]
    fn database_failures_are_503() {
        assert_eq!(
            status_and_body(Route::List, ImError::Store("disk full".into())),
            (
                503,
                "Error Getting Inf. List: Database error: disk full".into()
            )
        );
    }

    #[test]
    fn timeouts_are_504_or_wrapped_400() {
        let r = answer(Route::Stats, &Failure::Timeout, &[]);
        assert_eq!(r.status().as_u16(), 504);
        assert_eq!(futures_body(r), "Operation timed out");
        let r = answer(Route::List, &Failure::Timeout, &[]);
        assert_eq!(r.status().as_u16(), 400);
        assert_eq!(
            futures_body(r),
            "Error Getting Inf. List: 504: Operation timed out"
        );
    }
}
