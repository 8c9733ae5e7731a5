//! `bootstrap` of the regional origin (provided.al2023): configuration once, then the
//! Lambda runtime loop.
#![forbid(unsafe_code)]

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{service_fn, LambdaEvent};
use pii_edge_origin_example::Origin;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Once per cold start: a region without its keys must not start serving.
    let origin = Origin::from_env().map_err(lambda_runtime::Error::from)?;
    let origin = &origin;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            Ok::<_, lambda_runtime::Error>(origin.handle(event.payload))
        },
    ))
    .await
}
