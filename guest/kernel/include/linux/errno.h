#ifndef _LINUX_ERRNO_H
#define _LINUX_ERRNO_H

#define ENOSYS 38

#endif /* _LINUX_ERRNO_H */
