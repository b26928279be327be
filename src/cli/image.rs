//! `berth image import|list|remove` and `berth reset`.

use std::path::Path;

use super::exit;
use super::run::{fail, name};
use super::status::{human_bytes, print_table};
use crate::image::Store;
use crate::lifecycle::reset::{self, Reset};
use crate::lifecycle::Context;

pub fn import(ctx: &Context, tarball: &Path, image: &str) -> u8 {
    let image = match name(image) {
        Ok(n) => n,
        Err(c) => return c,
    };
    match Store::new(&ctx.paths).import(tarball, &image) {
        Ok(info) => {
            println!(
                "imported {} from {} ({})",
                info.name,
                info.source,
                human_bytes(info.bytes)
            );
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::FAILED
        }
    }
}

pub fn list(ctx: &Context, json: bool) -> u8 {
    let images = match Store::new(&ctx.paths).list() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    };
    let users = |image: &str| crate::image::users(&ctx.paths, image);
    if json {
        let rows: Vec<serde_json::Value> = images
            .iter()
            .map(|i| {
                let mut v = serde_json::to_value(i).unwrap_or_default();
                v["used_by"] = serde_json::json!(users(&i.name));
                v
            })
            .collect();
        println!("{:#}", serde_json::Value::Array(rows));
        return exit::OK;
    }
    let table: Vec<[String; 4]> = images
        .iter()
        .map(|i| {
            [
                i.name.clone(),
                human_bytes(i.bytes),
                super::status::timestamp(i.imported_usec),
                users(&i.name).join(","),
            ]
        })
        .collect();
    print_table(&["IMAGE", "SIZE", "IMPORTED", "USED BY"], &table);
    println!("\n{} image(s) listed.", images.len());
    exit::OK
}

pub fn remove(ctx: &Context, image: &str) -> u8 {
    let image = match name(image) {
        Ok(n) => n,
        Err(c) => return c,
    };
    match Store::new(&ctx.paths).remove(&image) {
        Ok(()) => {
            println!("removed image {image}");
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::FAILED
        }
    }
}

pub fn reset(ctx: &Context, n: &str) -> u8 {
    let n = match name(n) {
        Ok(n) => n,
        Err(c) => return c,
    };
    match reset::reset(ctx, &n) {
        Ok(Reset::Reset) => {
            println!("reset {n}: its persistent data is gone");
            exit::OK
        }
        Ok(Reset::NothingToReset) => {
            println!("{n} has no persistent data");
            exit::OK
        }
        Err(e) => fail(&e),
    }
}
