/* read, write, pread64, pwrite64: ksys_* -> vfs_* -> the model. Arguments are passed through
 * unchecked: the model validates them exactly as before the guest kernel existed. */
#include "linux/syscalls.h"

/* pos: NULL for read/write (the file position), else the pread64/pwrite64 offset. */
noinline ssize_t vfs_read(struct file *file, char __user *buf, size_t count, loff_t *pos) {
  return probesim_model_syscall((unsigned long)file->fd, (unsigned long)buf, count,
                                pos ? (unsigned long)*pos : 0, 0, 0);
}

noinline ssize_t vfs_write(struct file *file, const char __user *buf, size_t count,
                           loff_t *pos) {
  return probesim_model_syscall((unsigned long)file->fd, (unsigned long)buf, count,
                                pos ? (unsigned long)*pos : 0, 0, 0);
}

noinline ssize_t ksys_read(unsigned int fd, char __user *buf, size_t count) {
  struct file f = {.fd = (int)fd};
  return vfs_read(&f, buf, count, NULL);
}

noinline ssize_t ksys_write(unsigned int fd, const char __user *buf, size_t count) {
  struct file f = {.fd = (int)fd};
  return vfs_write(&f, buf, count, NULL);
}

noinline ssize_t ksys_pread64(unsigned int fd, char __user *buf, size_t count, loff_t pos) {
  struct file f = {.fd = (int)fd};
  return vfs_read(&f, buf, count, &pos);
}

noinline ssize_t ksys_pwrite64(unsigned int fd, const char __user *buf, size_t count,
                               loff_t pos) {
  struct file f = {.fd = (int)fd};
  return vfs_write(&f, buf, count, &pos);
}

SYSCALL_DEFINE3(read, unsigned int, fd, char __user *, buf, size_t, count) {
  return ksys_read(fd, buf, count);
}

SYSCALL_DEFINE3(write, unsigned int, fd, const char __user *, buf, size_t, count) {
  return ksys_write(fd, buf, count);
}

SYSCALL_DEFINE4(pread64, unsigned int, fd, char __user *, buf, size_t, count, loff_t, pos) {
  return ksys_pread64(fd, buf, count, pos);
}

SYSCALL_DEFINE4(pwrite64, unsigned int, fd, const char __user *, buf, size_t, count, loff_t,
                pos) {
  return ksys_pwrite64(fd, buf, count, pos);
}
