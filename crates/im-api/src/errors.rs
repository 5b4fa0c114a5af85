//! The one place where core errors become HTTP answers: the status of each
//! error class and the message prefix of each route (spec rest-api.md §4.1).

use axum::http::StatusCode;
use axum::response::Response;
use im_core::ImError;

use crate::negotiate;

/// The routes whose errors differ.
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

    /// Whether invalid credentials answer 401 here (else 400), as the reference.
    fn credentials_are_401(self) -> bool {
        matches!(
            self,
            Route::List | Route::Create | Route::Import | Route::Clouds
        )
    }
}

/// The answer for a core error on a route.
pub fn answer(route: Route, e: &ImError, accept: &[String]) -> Response {
    use ImError as E;
    let status = match e {
        E::InvalidUser(_) if route.credentials_are_401() => StatusCode::UNAUTHORIZED,
        E::IncorrectInfrastructure | E::DeletedInfrastructure | E::IncorrectVm | E::DeletedVm => {
            StatusCode::NOT_FOUND
        }
        E::UnauthorizedUser => StatusCode::FORBIDDEN,
        // IM-compat: GET …/data?delete in read-only mode is a 400 in the reference.
        E::DisabledFunction if route == Route::InfProp => StatusCode::BAD_REQUEST,
        E::DisabledFunction => StatusCode::FORBIDDEN,
        E::IncorrectState => StatusCode::CONFLICT,
        E::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let specific = matches!(
        e,
        E::IncorrectInfrastructure
            | E::DeletedInfrastructure
            | E::UnauthorizedUser
            | E::IncorrectVm
            | E::DeletedVm
    );
    let prefix = match (route, e) {
        // IM-compat: the reference's plural in this one message.
        (Route::ChangeAuth, E::IncorrectInfrastructure) => {
            "Error modifying infrastructure owners: ".to_string()
        }
        (Route::VmInfo, _) if !specific => "Error Getting VM info: ".to_string(),
        (Route::VmProp, _) if !specific => "Error Getting VM property: ".to_string(),
        _ => route.prefix(),
    };
    if matches!(e, E::Store(_)) {
        tracing::error!("database error: {e}");
    }
    negotiate::error(status, &format!("{prefix}{e}"), accept)
}
