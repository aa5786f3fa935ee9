//! The event handlers' routes: `POST /events/<handler>` for each handler of each event
//! type in `kit::wiring::SUBSCRIPTIONS`, its body that event type's CloudEvent.

use crate::{Access, Described, Op};
use contracts::{Event, EventTypeVisitor, visit_event_types};
use http::Method;
use kit::wiring::SUBSCRIPTIONS;

pub(crate) fn operations() -> Vec<Described> {
    let mut handlers = Handlers(Vec::new());
    visit_event_types(&mut handlers);
    handlers.0
}

struct Handlers(Vec<Described>);

impl EventTypeVisitor for Handlers {
    fn visit<E: Event + utoipa::ToSchema>(&mut self) {
        let subscribers = SUBSCRIPTIONS
            .iter()
            .filter(|(topic, _)| *topic == E::TYPE)
            .flat_map(|(_, subscribers)| subscribers.iter());
        for subscriber in subscribers {
            let op = Op::new(format!("Take {} events", E::TYPE), Access::Signature)
                .describe(
                    "Applies each event once (a redelivery answers 200 and changes nothing), \
                     then dispatches the events it caused. 422: the handler refuses the \
                     event (it becomes a dead letter); 503: try again later.",
                )
                .event_body::<E>()
                .answers_empty(200, "Applied, now or before.")
                .problems(&[422, 503]);
            self.0.push(Described::route(
                "events",
                Method::POST,
                format!("/events/{subscriber}"),
                subscriber,
                op,
            ));
        }
    }
}
