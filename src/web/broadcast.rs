//! Panel area `/broadcast` (being built).

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::AppState;

pub fn routes(_state: AppState) -> BoxedFilter<(Response,)> {
    warp::any().and_then(|| async { Err::<Response, _>(warp::reject::not_found()) }).boxed()
}
