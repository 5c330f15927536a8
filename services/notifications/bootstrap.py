from services.notifications.application import NotificationsApplication
from services.notifications.published import publish
from shared.ops.checkpoints import audited
from shared.runtime.spec import ServiceSpec

SPEC = audited(ServiceSpec(name="notifications", application=NotificationsApplication, publisher=lambda app: publish))
