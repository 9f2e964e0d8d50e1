"""Who the stack's auth layer signed in, as a Django user.

``PersistentRemoteUserMiddleware`` (in ``settings.MIDDLEWARE``) passes ``REMOTE_USER`` here.
Only the stack can set ``REMOTE_USER`` (a client's ``Remote-User`` header arrives as
``HTTP_REMOTE_USER``): never use this backend without the stack's ``AuthMiddleware`` in front.
"""

from django.conf import settings
from django.contrib.auth.backends import RemoteUserBackend


class StackRemoteUserBackend(RemoteUserBackend):
    """Create a Django user for each ``REMOTE_USER``; ``ADMIN_REMOTE_USERS`` get the admin.

    The list decides at every sign-in through the stack, so removing a name from
    ``DJANGO_ADMIN_USERS`` takes the admin away at that user's next sign-in.
    """

    def configure_user(self, request, user, created=True):
        if user is None:
            return None
        admin = user.get_username() in settings.ADMIN_REMOTE_USERS
        if user.is_staff != admin or user.is_superuser != admin:
            user.is_staff = user.is_superuser = admin
            user.save(update_fields=["is_staff", "is_superuser"])
        return user
