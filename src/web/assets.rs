//! The stylesheet and script, compiled into the binary so the server runs from any folder.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

const APP_CSS: &str = include_str!("../../static/app.css");
const APP_JS: &str = include_str!("../../static/app.js");

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/static/app.css").route(web::get().to(css)))
        .service(web::resource("/static/app.js").route(web::get().to(js)));
}

async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(APP_CSS)
}

async fn js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(APP_JS)
}
