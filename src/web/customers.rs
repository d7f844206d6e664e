//! The customers area of a workspace: the list and the profile.

mod list;
mod profile;
mod view;

use actix_web::web;

pub use view::Viewer;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/w/{workspace}/customers").route(web::get().to(list::list)))
        // Before `{id}`, which would otherwise take "count" for an id.
        .service(web::resource("/w/{workspace}/customers/count").route(web::get().to(list::count)))
        .service(web::resource("/w/{workspace}/customers/{id}").route(web::get().to(profile::profile)));
}
